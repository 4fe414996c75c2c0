/* imp-map.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "imp-map.h"
#include "imp-output.h"

#define N_COLUMNS         9
#define N_QUANTAL_COLUMNS 3   /* quantal_mv, quantal_n, release_p */
#define N_TRUTH_COLUMNS   2   /* snr, kind */

static const char *const kind_names[IMP_MAP_N_KINDS] = {
  "connection", "crosstalk", "shared_input", "comodulation"
};

/**
 * imp_map_kind_to_string:
 * @kind: a row kind
 *
 * Returns: the name used in truth files ("connection", "crosstalk",
 *   "shared_input", "comodulation")
 */
const char *
imp_map_kind_to_string (ImpMapKind kind)
{
  g_return_val_if_fail (kind < IMP_MAP_N_KINDS, "connection");

  return kind_names[kind];
}

void
imp_map_entry_clear (ImpMapEntry *entry)
{
  g_return_if_fail (entry != NULL);

  g_clear_pointer (&entry->pre_label, g_free);
  g_clear_pointer (&entry->post_label, g_free);
}

GArray *
imp_map_new (void)
{
  GArray *map;

  map = g_array_new (FALSE, TRUE, sizeof (ImpMapEntry));
  g_array_set_clear_func (map, (GDestroyNotify) imp_map_entry_clear);

  return map;
}

/* A spreadsheet takes a cell starting with one of these for a formula
 * ("=1+2", "@SUM(A1)", "-2+3"), which a label from a file must never
 * become. Such a label is written with a leading apostrophe, the
 * spreadsheets' own mark for text; so is a label that starts with an
 * apostrophe, so that reading drops exactly one. */
#define FORMULA_STARTS "=+-@\t\r'"

/* Quotes a field when it holds a comma, a quote or a line break (RFC 4180:
 * quotes inside are doubled); a text field that a spreadsheet would take
 * for a formula gets a leading apostrophe first. */
static void
append_field (GString    *out,
              const char *text)
{
  g_autofree char *escaped = NULL;
  const char *p;

  if (text == NULL)
    return;

  if (text[0] != '\0' && strchr (FORMULA_STARTS, text[0]) != NULL)
    text = escaped = g_strconcat ("'", text, NULL);

  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }

  g_string_append_c (out, '"');
  for (p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/**
 * imp_map_write_csv:
 * @map: (element-type ImpMapEntry): the rows
 * @path: the file (see imp_output_write_file(): a regular file is replaced
 *   atomically, a device or FIFO written to, a link's target replaced)
 * @error: return location for a #GError
 *
 * Writes the map as CSV (IMP_MAP_CSV_HEADER, then one row per entry;
 * numbers in the C locale with enough digits to read back exactly). A
 * label that a spreadsheet would take for a formula (starting with =, +,
 * -, @, a tab or a carriage return), or that starts with an apostrophe,
 * is written with a leading apostrophe; imp_map_read_csv() removes it.
 *
 * Returns: %TRUE on success
 */
static gboolean
write_map (GArray      *map,
           gboolean     truth,
           const char  *path,
           GError     **error)
{
  g_autoptr(GString) out = NULL;
  gboolean quantal = FALSE;
  guint i;

  for (i = 0; i < map->len; i++)
    quantal |= g_array_index (map, ImpMapEntry, i).quantal_n > 0;
  if (truth)
    out = g_string_new (quantal ? IMP_MAP_TRUTH_QUANTAL_CSV_HEADER "\n"
                                : IMP_MAP_TRUTH_CSV_HEADER "\n");
  else
    out = g_string_new (quantal ? IMP_MAP_CSV_QUANTAL_HEADER "\n"
                                : IMP_MAP_CSV_HEADER "\n");
  for (i = 0; i < map->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (map, ImpMapEntry, i);

      if (!truth && e->kind != IMP_MAP_CONNECTION)
        continue;
      g_string_append_printf (out, "%u,%u,", e->pre, e->post);
      append_field (out, e->pre_label);
      g_string_append_c (out, ',');
      append_field (out, e->post_label);
      g_string_append_printf (out, ",%c,", e->sign == 'I' ? 'I' : 'E');
      imp_output_append_double (out, e->amplitude_mv);
      g_string_append_c (out, ',');
      /* no estimate: an empty field */
      if (isfinite (e->latency_ms))
        imp_output_append_double (out, e->latency_ms);
      g_string_append_c (out, ',');
      imp_output_append_double (out, e->p_value);
      g_string_append_printf (out, ",%u", e->n_pre_aps);
      if (quantal && e->quantal_n > 0)
        {
          g_string_append_c (out, ',');
          imp_output_append_double (out, e->quantal_mv);
          g_string_append_printf (out, ",%u,", e->quantal_n);
          imp_output_append_double (out, e->release_p);
        }
      else if (quantal)
        g_string_append (out, ",,,");
      if (truth)
        {
          g_string_append_c (out, ',');
          if (isfinite (e->snr))
            imp_output_append_double (out, e->snr);
          g_string_append_printf (out, ",%s",
                                  imp_map_kind_to_string (e->kind));
        }
      g_string_append_c (out, '\n');
    }

  return imp_output_write_file (path, out->str, out->len, error);
}

/**
 * imp_map_write_csv:
 * @map: (element-type ImpMapEntry): the rows
 * @path: the file (see imp_output_write_file(): a regular file is replaced
 *   atomically, a device or FIFO written to, a link's target replaced)
 * @error: return location for a #GError
 *
 * Writes the map as CSV (IMP_MAP_CSV_HEADER, then one row per connection;
 * rows of another kind are left out; numbers in the C locale with enough
 * digits to read back exactly). When some entry has quantal parameters
 * (quantal_n > 0), the header is IMP_MAP_CSV_QUANTAL_HEADER and every row
 * has the three quantal fields, empty where quantal_n is 0; otherwise the
 * file is as before. A label that a spreadsheet would take for
 * a formula (starting with =, +, -, @, a tab or a carriage return), or
 * that starts with an apostrophe, is written with a leading apostrophe;
 * imp_map_read_csv() removes it.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_map_write_csv (GArray      *map,
                   const char  *path,
                   GError     **error)
{
  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return write_map (map, FALSE, path, error);
}

/**
 * imp_map_write_truth_csv:
 * @map: (element-type ImpMapEntry): the rows, traps included
 * @path: the file, as for imp_map_write_csv()
 * @error: return location for a #GError
 *
 * Writes a truth file: IMP_MAP_TRUTH_CSV_HEADER (or
 * IMP_MAP_TRUTH_QUANTAL_CSV_HEADER when some row has quantal parameters),
 * the map's columns and then `snr` (empty when not finite) and `kind` for
 * every row.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_map_write_truth_csv (GArray      *map,
                         const char  *path,
                         GError     **error)
{
  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return write_map (map, TRUE, path, error);
}

/* Splits one CSV record starting at *cursor into @fields, advancing the
 * cursor past the record's line end. Returns the number of fields, or -1
 * on an unterminated quote. */
static int
split_record (const char **cursor,
              GPtrArray   *fields)
{
  const char *p = *cursor;
  g_autoptr(GString) field = g_string_new (NULL);
  gboolean quoted = FALSE;

  g_ptr_array_set_size (fields, 0);

  for (;;)
    {
      char c = *p;

      if (quoted)
        {
          if (c == '\0')
            return -1;
          if (c == '"' && p[1] == '"')
            {
              g_string_append_c (field, '"');
              p += 2;
            }
          else if (c == '"')
            {
              quoted = FALSE;
              p++;
            }
          else
            {
              g_string_append_c (field, c);
              p++;
            }
          continue;
        }

      if (c == '"' && field->len == 0)
        {
          quoted = TRUE;
          p++;
        }
      else if (c == ',')
        {
          g_ptr_array_add (fields, g_strdup (field->str));
          g_string_truncate (field, 0);
          p++;
        }
      else if (c == '\0' || c == '\n' || c == '\r')
        {
          g_ptr_array_add (fields, g_strdup (field->str));
          if (c == '\r')
            p++;
          if (*p == '\n')
            p++;
          break;
        }
      else
        {
          g_string_append_c (field, c);
          p++;
        }
    }

  *cursor = p;
  return (int) fields->len;
}

static gboolean
parse_uint (const char *text,
            guint      *out)
{
  guint64 value;
  char *end = NULL;

  g_assert (text != NULL);

  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value > G_MAXUINT)
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

static gboolean
parse_double (const char *text,
              double     *out)
{
  char *end = NULL;

  g_assert (text != NULL);

  errno = 0;
  *out = g_ascii_strtod (text, &end);
  /* Underflow is no error: p-values of strong connections are below
   * DBL_MIN (subnormal, as written) or round to 0. Overflow is. */
  if (errno == ERANGE && fabs (*out) <= DBL_MIN)
    errno = 0;
  return errno == 0 && end != text && *end == '\0';
}

/* A latency, or an empty field for none (NAN). */
static gboolean
parse_latency (const char *text,
               double     *out)
{
  if (text[0] == '\0')
    {
      *out = NAN;
      return TRUE;
    }
  /* none is written as an empty field: "nan" is no latency of the file's */
  return parse_double (text, out) && !isnan (*out);
}

/* A label as written by append_field(): without the apostrophe that kept
 * it from being a formula. */
static char *
read_label (const char *field)
{
  return g_strdup (field[0] == '\'' ? field + 1 : field);
}

/* Sets @why and returns @field, for parse_entry(). */
static int
invalid (const char **why,
         const char  *reason,
         int          field)
{
  *why = reason;
  return field;
}

/* Reads a row into @entry. Returns -1, or the index of the first field
 * that is not valid, with why in @why. */
static int
parse_entry (GPtrArray    *fields,
             gboolean      quantal,
             gboolean      truth,
             ImpMapEntry  *entry,
             const char  **why)
{
  guint at = N_COLUMNS + (quantal ? N_QUANTAL_COLUMNS : 0);
  const char *sign;

  if (!parse_uint (fields->pdata[0], &entry->pre))
    return invalid (why, "not a channel number", 0);
  if (!parse_uint (fields->pdata[1], &entry->post))
    return invalid (why, "not a channel number", 1);
  if (entry->post == entry->pre)
    return invalid (why, "the same channel as pre", 1);

  sign = fields->pdata[4];
  if (g_strcmp0 (sign, "E") != 0 && g_strcmp0 (sign, "I") != 0)
    return invalid (why, "not E or I", 4);
  entry->sign = sign[0];

  if (!parse_double (fields->pdata[5], &entry->amplitude_mv)
      || !isfinite (entry->amplitude_mv))
    return invalid (why, "not a finite number", 5);
  if (!parse_latency (fields->pdata[6], &entry->latency_ms)
      || entry->latency_ms < 0 || isinf (entry->latency_ms))
    return invalid (why, "not empty or a number of ms at least 0", 6);
  if (!parse_double (fields->pdata[7], &entry->p_value)
      || !(entry->p_value >= 0 && entry->p_value <= 1))
    return invalid (why, "not a p-value from 0 to 1", 7);
  if (!parse_uint (fields->pdata[8], &entry->n_pre_aps))
    return invalid (why, "not a count", 8);

  entry->quantal_mv = entry->release_p = NAN;
  entry->quantal_n = 0;
  if (quantal && ((char *) fields->pdata[10])[0] != '\0')
    {
      if (!parse_double (fields->pdata[9], &entry->quantal_mv)
          || !isfinite (entry->quantal_mv))
        return invalid (why, "not a finite number", 9);
      if (!parse_uint (fields->pdata[10], &entry->quantal_n))
        return invalid (why, "not a count", 10);
      if (!parse_double (fields->pdata[11], &entry->release_p)
          || !(entry->release_p >= 0 && entry->release_p <= 1))
        return invalid (why, "not a probability from 0 to 1", 11);
    }

  entry->snr = NAN;
  entry->kind = IMP_MAP_CONNECTION;
  if (truth)
    {
      const char *snr = fields->pdata[at];
      guint k;

      if (snr[0] != '\0' && !parse_double (snr, &entry->snr))
        return invalid (why, "not a number", (int) at);
      for (k = 0; k < IMP_MAP_N_KINDS; k++)
        if (g_strcmp0 (fields->pdata[at + 1], kind_names[k]) == 0)
          break;
      if (k == IMP_MAP_N_KINDS)
        return invalid (why, "not a kind of row", (int) at + 1);
      entry->kind = (ImpMapKind) k;
    }

  entry->pre_label = read_label (fields->pdata[2]);
  entry->post_label = read_label (fields->pdata[3]);
  return -1;
}

/* Whether the text at @cursor is @header followed by a line end. */
static gboolean
has_header (const char *cursor,
            const char *header)
{
  gsize len = strlen (header);

  return g_str_has_prefix (cursor, header)
         && (cursor[len] == '\n' || cursor[len] == '\r'
             || cursor[len] == '\0');
}

static GArray *
read_map (const char  *path,
          gboolean     with_traps,
          GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GArray) map = NULL;
  g_autoptr(GPtrArray) fields = NULL;
  const char *cursor;
  const char *header = NULL;
  gboolean quantal = FALSE, truth = FALSE;
  int n_columns;
  guint line = 1;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;

  cursor = contents;
  if (g_str_has_prefix (cursor, "\xef\xbb\xbf"))
    cursor += 3;

  {
    const char *headers[] = { IMP_MAP_CSV_HEADER, IMP_MAP_CSV_QUANTAL_HEADER,
                              IMP_MAP_TRUTH_CSV_HEADER,
                              IMP_MAP_TRUTH_QUANTAL_CSV_HEADER };
    guint k;

    for (k = 0; k < G_N_ELEMENTS (headers); k++)
      if (has_header (cursor, headers[k]))
        {
          header = headers[k];
          quantal = k % 2 == 1;
          truth = k >= 2;
        }
  }
  if (header == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the first line is not the map header “%s”",
                   path, IMP_MAP_CSV_HEADER);
      return NULL;
    }
  n_columns = N_COLUMNS + (quantal ? N_QUANTAL_COLUMNS : 0)
              + (truth ? N_TRUTH_COLUMNS : 0);
  cursor += strlen (header);
  if (*cursor == '\r')
    cursor++;
  if (*cursor == '\n')
    cursor++;

  map = imp_map_new ();
  fields = g_ptr_array_new_with_free_func (g_free);
  while (*cursor != '\0')
    {
      ImpMapEntry entry = { 0 };
      const char *why = NULL;
      int n, bad;

      line++;
      n = split_record (&cursor, fields);
      if (n == 1 && ((char *) fields->pdata[0])[0] == '\0')
        continue;  /* blank line */

      if (n != n_columns)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%u: expected %d fields, found %d: %s",
                       path, line, n_columns, n, header);
          return NULL;
        }
      if ((bad = parse_entry (fields, quantal, truth, &entry, &why)) >= 0)
        {
          g_auto(GStrv) names = g_strsplit (header, ",", -1);

          imp_map_entry_clear (&entry);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%u: %s “%s” is %s", path, line,
                       bad < (int) g_strv_length (names) ? names[bad] : "a field",
                       (const char *) fields->pdata[bad], why);
          return NULL;
        }
      if (!with_traps && entry.kind != IMP_MAP_CONNECTION)
        {
          imp_map_entry_clear (&entry);
          continue;
        }
      g_array_append_val (map, entry);
    }

  return g_steal_pointer (&map);
}

/**
 * imp_map_read_csv:
 * @path: a file written by imp_map_write_csv() (or in its format), or a
 *   truth file (imp_map_write_truth_csv())
 * @error: return location for a #GError
 *
 * Reads a map, with or without the quantal columns; a label's leading
 * apostrophe (the formula guard) is dropped. Of a truth file only the
 * connections are read.
 *
 * Returns: (transfer full) (element-type ImpMapEntry) (nullable): the
 *   rows, or %NULL with @error set
 */
GArray *
imp_map_read_csv (const char  *path,
                  GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return read_map (path, FALSE, error);
}

/**
 * imp_map_read_truth_csv:
 * @path: a truth file, or a plain map
 * @error: return location for a #GError
 *
 * Reads every row, traps included; rows of a plain map are connections
 * with an unknown (NAN) SNR.
 *
 * Returns: (transfer full) (element-type ImpMapEntry) (nullable): the
 *   rows, or %NULL with @error set
 */
GArray *
imp_map_read_truth_csv (const char  *path,
                        GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return read_map (path, TRUE, error);
}

static inline guint64
pair_key (guint pre,
          guint post)
{
  return ((guint64) pre << 32) | post;
}

/**
 * imp_map_snr_band:
 * @snr: a connection's SNR, or NAN
 *
 * Returns: its band: >= 6, 3 to 6, below 3, or unknown
 */
ImpMapBand
imp_map_snr_band (double snr)
{
  if (!isfinite (snr))
    return IMP_MAP_SNR_UNKNOWN;
  if (snr >= IMP_MAP_SNR_HIGH_MIN)
    return IMP_MAP_SNR_HIGH;
  if (snr >= IMP_MAP_SNR_MID_MIN)
    return IMP_MAP_SNR_MID;
  return IMP_MAP_SNR_LOW;
}

/**
 * imp_map_score:
 * @found: (element-type ImpMapEntry): the connections found
 * @truth: (element-type ImpMapEntry): the true connections, and traps
 * @score: (out caller-allocates): the score
 *
 * Scores @found against @truth by (pre, post) pairs; a pair listed twice
 * counts once. A found pair that is a trap in @truth is a false positive
 * and counts in traps_called; rows of @found that are not connections are
 * ignored. Recall by band and by sign counts the true connections of the
 * band or sign that were found (with either sign).
 */
void
imp_map_score (GArray      *found,
               GArray      *truth,
               ImpMapScore *score)
{
  g_autoptr(GHashTable) rows = NULL;
  g_autoptr(GHashTable) seen = NULL;
  guint i, n_true = 0;

  g_return_if_fail (found != NULL);
  g_return_if_fail (truth != NULL);
  g_return_if_fail (score != NULL);

  memset (score, 0, sizeof *score);

  /* key -> truth row; keys are boxed because guint64 does not fit a
   * pointer on every platform. A connection wins over a trap listed for
   * the same pair. */
  rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (i = 0; i < truth->len; i++)
    {
      ImpMapEntry *e = &g_array_index (truth, ImpMapEntry, i);
      gint64 key = (gint64) pair_key (e->pre, e->post);
      ImpMapEntry *old = g_hash_table_lookup (rows, &key);

      if (e->kind >= IMP_MAP_N_KINDS)
        continue;
      if (old != NULL && (old->kind == IMP_MAP_CONNECTION
                          || e->kind != IMP_MAP_CONNECTION))
        continue;
      g_hash_table_replace (rows, g_memdup2 (&key, sizeof key), e);
    }

  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, rows);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      {
        const ImpMapEntry *e = value;

        if (e->kind == IMP_MAP_CONNECTION)
          {
            n_true++;
            score->band_total[imp_map_snr_band (e->snr)]++;
            score->sign_total[e->sign == 'I']++;
          }
        else
          {
            score->n_traps++;
            score->traps_total[e->kind]++;
          }
      }
  }

  seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (i = 0; i < found->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (found, ImpMapEntry, i);
      gint64 key = (gint64) pair_key (e->pre, e->post);
      const ImpMapEntry *t;

      if (e->kind != IMP_MAP_CONNECTION
          || g_hash_table_contains (seen, &key))
        continue;
      g_hash_table_add (seen, g_memdup2 (&key, sizeof key));

      t = g_hash_table_lookup (rows, &key);
      if (t != NULL && t->kind == IMP_MAP_CONNECTION)
        {
          score->true_positives++;
          score->band_found[imp_map_snr_band (t->snr)]++;
          score->sign_found[t->sign == 'I']++;
          if (t->sign != e->sign)
            score->sign_errors++;
          continue;
        }
      score->false_positives++;
      if (t != NULL)
        {
          score->n_traps_called++;
          score->traps_called[t->kind]++;
        }
    }

  score->false_negatives = n_true - score->true_positives;
  score->precision = score->true_positives + score->false_positives > 0
    ? (double) score->true_positives
      / (score->true_positives + score->false_positives)
    : 1.0;
  score->recall = n_true > 0 ? (double) score->true_positives / n_true : 1.0;
}

/**
 * imp_map_score_band_recall:
 * @score: a score
 * @band: an SNR band
 *
 * Returns: the fraction of the band's true connections found, NAN when
 *   the band is empty
 */
double
imp_map_score_band_recall (const ImpMapScore *score,
                           ImpMapBand         band)
{
  g_return_val_if_fail (score != NULL, NAN);
  g_return_val_if_fail (band < IMP_MAP_N_BANDS, NAN);

  if (score->band_total[band] == 0)
    return NAN;
  return (double) score->band_found[band] / score->band_total[band];
}

static const char *const band_names[IMP_MAP_N_BANDS] = {
  "snr_6_up", "snr_3_to_6", "snr_below_3", "snr_unknown"
};

static const char *const band_titles[IMP_MAP_N_BANDS] = {
  "SNR >= 6", "3 <= SNR < 6", "SNR < 3", "SNR unknown"
};

static void
add_fraction (JsonBuilder *b,
              const char  *name,
              guint        found,
              guint        total)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "found");
  json_builder_add_int_value (b, found);
  json_builder_set_member_name (b, "total");
  json_builder_add_int_value (b, total);
  json_builder_set_member_name (b, "recall");
  json_builder_add_double_value (b, total > 0 ? (double) found / total : NAN);
  json_builder_end_object (b);
}

/**
 * imp_map_score_to_json:
 * @score: a score
 *
 * Returns: (transfer full): the score as a JSON object: true_positives,
 *   false_positives, false_negatives, sign_errors, precision, recall,
 *   recall_by_snr and recall_by_sign (found, total, recall each; recall
 *   null for none), traps and traps_called (by kind and in all)
 */
char *
imp_map_score_to_json (const ImpMapScore *score)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  guint k;

  g_return_val_if_fail (score != NULL, NULL);

  json_builder_begin_object (b);
#define MEMBER_INT(name) \
  json_builder_set_member_name (b, #name); \
  json_builder_add_int_value (b, score->name)
  MEMBER_INT (true_positives);
  MEMBER_INT (false_positives);
  MEMBER_INT (false_negatives);
  MEMBER_INT (sign_errors);
#undef MEMBER_INT
  json_builder_set_member_name (b, "precision");
  json_builder_add_double_value (b, score->precision);
  json_builder_set_member_name (b, "recall");
  json_builder_add_double_value (b, score->recall);

  json_builder_set_member_name (b, "recall_by_snr");
  json_builder_begin_object (b);
  for (k = 0; k < IMP_MAP_N_BANDS; k++)
    add_fraction (b, band_names[k], score->band_found[k],
                  score->band_total[k]);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "recall_by_sign");
  json_builder_begin_object (b);
  add_fraction (b, "E", score->sign_found[0], score->sign_total[0]);
  add_fraction (b, "I", score->sign_found[1], score->sign_total[1]);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "traps");
  json_builder_begin_object (b);
  for (k = 1; k < IMP_MAP_N_KINDS; k++)
    {
      json_builder_set_member_name (b, kind_names[k]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "total");
      json_builder_add_int_value (b, score->traps_total[k]);
      json_builder_set_member_name (b, "called");
      json_builder_add_int_value (b, score->traps_called[k]);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "n_traps");
  json_builder_add_int_value (b, score->n_traps);
  json_builder_set_member_name (b, "traps_called");
  json_builder_add_int_value (b, score->n_traps_called);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  return imp_output_json_to_data (root, TRUE, NULL);
}

static void
append_recall (GString    *out,
               const char *title,
               guint       found,
               guint       total)
{
  if (total == 0)
    g_string_append_printf (out, "  %-14s   -  (none)\n", title);
  else
    g_string_append_printf (out, "  %-14s %.3f (%u of %u)\n", title,
                            (double) found / total, found, total);
}

/**
 * imp_map_score_to_text:
 * @score: a score
 *
 * Returns: (transfer full): the score as lines of text for people
 */
char *
imp_map_score_to_text (const ImpMapScore *score)
{
  GString *out;
  guint k;

  g_return_val_if_fail (score != NULL, NULL);

  out = g_string_new (NULL);
  g_string_append_printf (out, "precision        %.3f (%u of %u found)\n",
                          score->precision, score->true_positives,
                          score->true_positives + score->false_positives);
  g_string_append_printf (out, "recall           %.3f (%u of %u true)\n",
                          score->recall, score->true_positives,
                          score->true_positives + score->false_negatives);
  g_string_append_printf (out, "sign errors      %u\n", score->sign_errors);
  g_string_append (out, "recall by SNR\n");
  for (k = 0; k < IMP_MAP_N_BANDS; k++)
    if (k != IMP_MAP_SNR_UNKNOWN || score->band_total[k] > 0)
      append_recall (out, band_titles[k], score->band_found[k],
                     score->band_total[k]);
  g_string_append (out, "recall by sign\n");
  append_recall (out, "excitatory", score->sign_found[0],
                 score->sign_total[0]);
  append_recall (out, "inhibitory", score->sign_found[1],
                 score->sign_total[1]);
  g_string_append_printf (out, "traps called     %u of %u\n",
                          score->n_traps_called, score->n_traps);
  for (k = 1; k < IMP_MAP_N_KINDS; k++)
    if (score->traps_total[k] > 0)
      g_string_append_printf (out, "  %-14s %u of %u\n", kind_names[k],
                              score->traps_called[k], score->traps_total[k]);
  return g_string_free (out, FALSE);
}

/**
 * imp_map_append_csv_field:
 * @out: where to append
 * @text: (nullable): a text field
 *
 * Appends a text field as the map's CSV writes it: quoted when it holds a
 * comma, a quote or a line break, and never read as a formula.
 */
void
imp_map_append_csv_field (GString    *out,
                          const char *text)
{
  g_return_if_fail (out != NULL);

  append_field (out, text);
}
