/* imp-map.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "imp-map.h"
#include "imp-output.h"

#define N_COLUMNS 9
#define N_QUANTAL_COLUMNS 12

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
 * numbers in the C locale with enough digits to read back exactly). When
 * some entry has quantal parameters (quantal_n > 0), the header is
 * IMP_MAP_CSV_QUANTAL_HEADER and every row has the three quantal fields,
 * empty where quantal_n is 0; otherwise the file is as before. A
 * label that a spreadsheet would take for a formula (starting with =, +,
 * -, @, a tab or a carriage return), or that starts with an apostrophe,
 * is written with a leading apostrophe; imp_map_read_csv() removes it.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_map_write_csv (GArray      *map,
                   const char  *path,
                   GError     **error)
{
  g_autoptr(GString) out = NULL;
  gboolean quantal = FALSE;
  guint i;

  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (i = 0; i < map->len; i++)
    quantal |= g_array_index (map, ImpMapEntry, i).quantal_n > 0;
  out = g_string_new (quantal ? IMP_MAP_CSV_QUANTAL_HEADER "\n"
                              : IMP_MAP_CSV_HEADER "\n");
  for (i = 0; i < map->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (map, ImpMapEntry, i);

      g_string_append_printf (out, "%u,%u,", e->pre, e->post);
      append_field (out, e->pre_label);
      g_string_append_c (out, ',');
      append_field (out, e->post_label);
      g_string_append_printf (out, ",%c,", e->sign == 'I' ? 'I' : 'E');
      imp_output_append_double (out, e->amplitude_mv);
      g_string_append_c (out, ',');
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
      g_string_append_c (out, '\n');
    }

  return imp_output_write_file (path, out->str, out->len, error);
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
  return errno == 0 && end != text && *end == '\0';
}

/* A label as written by append_field(): without the apostrophe that kept
 * it from being a formula. */
static char *
read_label (const char *field)
{
  return g_strdup (field[0] == '\'' ? field + 1 : field);
}

static gboolean
parse_entry (GPtrArray   *fields,
             ImpMapEntry *entry)
{
  const char *sign;

  if (!parse_uint (fields->pdata[0], &entry->pre)
      || !parse_uint (fields->pdata[1], &entry->post))
    return FALSE;

  sign = fields->pdata[4];
  if (g_strcmp0 (sign, "E") != 0 && g_strcmp0 (sign, "I") != 0)
    return FALSE;
  entry->sign = sign[0];

  if (!parse_double (fields->pdata[5], &entry->amplitude_mv)
      || !parse_double (fields->pdata[6], &entry->latency_ms)
      || !parse_double (fields->pdata[7], &entry->p_value)
      || !parse_uint (fields->pdata[8], &entry->n_pre_aps))
    return FALSE;

  entry->quantal_mv = entry->release_p = NAN;
  entry->quantal_n = 0;
  if (fields->len == N_QUANTAL_COLUMNS
      && ((char *) fields->pdata[10])[0] != '\0'
      && (!parse_double (fields->pdata[9], &entry->quantal_mv)
          || !parse_uint (fields->pdata[10], &entry->quantal_n)
          || !parse_double (fields->pdata[11], &entry->release_p)))
    return FALSE;

  entry->pre_label = read_label (fields->pdata[2]);
  entry->post_label = read_label (fields->pdata[3]);
  return TRUE;
}

/**
 * imp_map_read_csv:
 * @path: a file written by imp_map_write_csv() (or in its format)
 * @error: return location for a #GError
 *
 * Reads a map, with or without the quantal columns; a label's leading
 * apostrophe (the formula guard) is dropped.
 *
 * Returns: (transfer full) (element-type ImpMapEntry) (nullable): the
 *   rows, or %NULL with @error set
 */
GArray *
imp_map_read_csv (const char  *path,
                  GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GArray) map = NULL;
  g_autoptr(GPtrArray) fields = NULL;
  const char *cursor;
  const char *header = IMP_MAP_CSV_HEADER;
  int n_columns = N_COLUMNS;
  guint line = 1;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;

  cursor = contents;
  if (g_str_has_prefix (cursor, "\xef\xbb\xbf"))
    cursor += 3;

  if (g_str_has_prefix (cursor, IMP_MAP_CSV_QUANTAL_HEADER))
    {
      header = IMP_MAP_CSV_QUANTAL_HEADER;
      n_columns = N_QUANTAL_COLUMNS;
    }
  if (!g_str_has_prefix (cursor, header)
      || (cursor[strlen (header)] != '\n'
          && cursor[strlen (header)] != '\r'
          && cursor[strlen (header)] != '\0'))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the first line is not the map header “%s”",
                   path, IMP_MAP_CSV_HEADER);
      return NULL;
    }
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
      int n;

      line++;
      n = split_record (&cursor, fields);
      if (n == 1 && ((char *) fields->pdata[0])[0] == '\0')
        continue;  /* blank line */

      if (n != n_columns || !parse_entry (fields, &entry))
        {
          imp_map_entry_clear (&entry);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%u: expected %d fields: %s",
                       path, line, n_columns, header);
          return NULL;
        }
      g_array_append_val (map, entry);
    }

  return g_steal_pointer (&map);
}

static inline guint64
pair_key (guint pre,
          guint post)
{
  return ((guint64) pre << 32) | post;
}

void
imp_map_score (GArray      *found,
               GArray      *truth,
               ImpMapScore *score)
{
  g_autoptr(GHashTable) truth_sign = NULL;
  g_autoptr(GHashTable) seen = NULL;
  guint i;

  g_return_if_fail (found != NULL);
  g_return_if_fail (truth != NULL);
  g_return_if_fail (score != NULL);

  memset (score, 0, sizeof *score);

  /* key -> sign; keys are boxed because guint64 does not fit a pointer on
   * every platform. */
  truth_sign = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                      g_free, NULL);
  for (i = 0; i < truth->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (truth, ImpMapEntry, i);
      gint64 *key = g_new (gint64, 1);

      *key = (gint64) pair_key (e->pre, e->post);
      g_hash_table_replace (truth_sign, key, GINT_TO_POINTER ((int) e->sign));
    }

  /* A pair listed twice in @found counts once. */
  seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  for (i = 0; i < found->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (found, ImpMapEntry, i);
      gint64 key = (gint64) pair_key (e->pre, e->post);
      gpointer sign;

      if (g_hash_table_contains (seen, &key))
        continue;
      g_hash_table_add (seen, g_memdup2 (&key, sizeof key));

      if (g_hash_table_lookup_extended (truth_sign, &key, NULL, &sign))
        {
          score->true_positives++;
          if (GPOINTER_TO_INT (sign) != (int) e->sign)
            score->sign_errors++;
        }
      else
        score->false_positives++;
    }

  score->false_negatives = g_hash_table_size (truth_sign)
                           - score->true_positives;
  score->precision = score->true_positives + score->false_positives > 0
    ? (double) score->true_positives
      / (score->true_positives + score->false_positives)
    : 1.0;
  score->recall = g_hash_table_size (truth_sign) > 0
    ? (double) score->true_positives / g_hash_table_size (truth_sign)
    : 1.0;
}
