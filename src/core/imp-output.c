/* imp-output.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "imp-output.h"

/* Symbolic links followed by hand, at most (the kernel's own limit). */
#define MAX_LINKS 40

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "Failed to %s “%s”: %s", what, display,
               g_strerror (saved_errno));
  return FALSE;
}

/* The file descriptor of this process that @path names (/dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N), or -1. */
static int
own_descriptor (const char *path)
{
  const char *rest = NULL;
  guint64 n;
  char *end;

  if (g_str_equal (path, "/dev/stdout"))
    return STDOUT_FILENO;
  if (g_str_equal (path, "/dev/stderr"))
    return STDERR_FILENO;
  if (g_str_has_prefix (path, "/dev/fd/"))
    rest = path + strlen ("/dev/fd/");
  else if (g_str_has_prefix (path, "/proc/self/fd/"))
    rest = path + strlen ("/proc/self/fd/");
  if (rest == NULL || !g_ascii_isdigit (rest[0]))
    return -1;
  n = g_ascii_strtoull (rest, &end, 10);
  return *end == '\0' && n <= G_MAXINT ? (int) n : -1;
}

/* Follows the symbolic links of @path by hand and returns the file it
 * finally names (which need not exist). Sets @magic when the way passes
 * through /proc, whose links (/dev/stdout -> /proc/self/fd/1 -> a pipe)
 * do not name files that can be replaced. */
static char *
resolve_links (const char *path,
               gboolean   *magic)
{
  g_autofree char *current = NULL;
  guint depth;

  *magic = FALSE;
  if (g_path_is_absolute (path))
    current = g_strdup (path);
  else
    {
      g_autofree char *cwd = g_get_current_dir ();

      current = g_build_filename (cwd, path, NULL);
    }

  for (depth = 0; depth < MAX_LINKS; depth++)
    {
      g_autofree char *dir = g_path_get_dirname (current);
      g_autofree char *base = g_path_get_basename (current);
      g_autofree char *real_dir = realpath (dir, NULL);
      g_autofree char *link = NULL;
      GStatBuf st;

      if (real_dir == NULL)
        break;    /* the folder is missing: writing will say so */
      g_free (current);
      current = g_build_filename (real_dir, base, NULL);
      if (g_str_has_prefix (current, "/proc/"))
        {
          *magic = TRUE;
          break;
        }
      if (g_lstat (current, &st) != 0 || !S_ISLNK (st.st_mode))
        break;
      link = g_file_read_link (current, NULL);
      if (link == NULL)
        break;
      if (g_path_is_absolute (link))
        {
          g_free (current);
          current = g_steal_pointer (&link);
        }
      else
        {
          g_free (current);
          current = g_build_filename (real_dir, link, NULL);
        }
    }

  return g_steal_pointer (&current);
}

struct _ImpOutputFile
{
  char *path;      /* as given, for messages */
  char *target;    /* what is replaced on commit */
  char *tmp;       /* the temporary file renamed over it; NULL when
                      written in place */
  int   fd;
};

/**
 * imp_output_file_open:
 * @path: the file to write (see imp_output_write_file())
 * @error: return location for a #GError
 *
 * Starts writing a result piece by piece, so that a large one never
 * needs to be in memory whole; imp_output_file_commit() finishes it as
 * imp_output_write_file() would have written it.
 *
 * Returns: (transfer full) (nullable): the file being written, or %NULL
 *   with a %G_FILE_ERROR set
 */
ImpOutputFile *
imp_output_file_open (const char  *path,
                      GError     **error)
{
  g_autofree char *target = NULL;
  ImpOutputFile *file;
  gboolean magic, exists;
  int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC;
  int own;
  GStatBuf st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* This process's own descriptors need no path: where /proc is not
   * mounted (a bare chroot or container) /dev/stdout names nothing. */
  own = own_descriptor (path);
  if (own >= 0)
    {
      file = g_new0 (ImpOutputFile, 1);
      file->path = g_strdup (path);
      file->target = g_strdup (path);
      file->fd = fcntl (own, F_DUPFD_CLOEXEC, 0);
      if (file->fd < 0)
        {
          set_errno_error (error, errno, "open", path);
          imp_output_file_abort (file);
          return NULL;
        }
      return file;
    }

  target = resolve_links (path, &magic);
  exists = !magic && g_stat (target, &st) == 0;
  if (!magic && !exists && errno != ENOENT)
    {
      set_errno_error (error, errno, "write", path);
      return NULL;
    }
  if (exists && S_ISDIR (st.st_mode))
    {
      set_errno_error (error, EISDIR, "write", path);
      return NULL;
    }

  file = g_new0 (ImpOutputFile, 1);
  file->path = g_strdup (path);
  if (magic)
    file->fd = g_open (path, flags | O_APPEND, 0);
  else if (exists && !S_ISREG (st.st_mode))
    file->fd = g_open (target, flags, 0);
  else
    {
      /* A regular file, or a new one: replaced atomically, keeping an
       * existing file's permissions. */
      file->tmp = g_strdup_printf ("%s.XXXXXX", target);
      file->fd = g_mkstemp_full (file->tmp, O_RDWR | O_CLOEXEC,
                                 exists ? (int) (st.st_mode & 0777) : 0666);
    }
  file->target = g_steal_pointer (&target);
  if (file->fd < 0)
    {
      set_errno_error (error, errno, file->tmp != NULL ? "create" : "open",
                       file->tmp != NULL ? file->tmp : path);
      g_clear_pointer (&file->tmp, g_free);
      imp_output_file_abort (file);
      return NULL;
    }
  return file;
}

/**
 * imp_output_file_write:
 * @file: a file being written
 * @data: (array length=length): the next bytes
 * @length: their count
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 */
gboolean
imp_output_file_write (ImpOutputFile  *file,
                       const char     *data,
                       gsize           length,
                       GError        **error)
{
  gsize done = 0;

  g_return_val_if_fail (file != NULL && file->fd >= 0, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  while (done < length)
    {
      gssize n = write (file->fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return set_errno_error (error, n < 0 ? errno : ENOSPC, "write",
                                file->path);
      done += (gsize) n;
    }
  return TRUE;
}

/**
 * imp_output_file_commit:
 * @file: (transfer full): a file being written
 * @error: return location for a #GError
 *
 * Finishes the file: a temporary file is synced and renamed over the
 * target (after a crash, the old file or the new one is there, never a
 * mixture). Frees @file whatever happens; on failure the target is left
 * as it was (unless written in place).
 *
 * Returns: %TRUE on success
 */
gboolean
imp_output_file_commit (ImpOutputFile  *file,
                        GError        **error)
{
  gboolean ok = TRUE;

  g_return_val_if_fail (file != NULL, FALSE);

  if (file->tmp != NULL && fsync (file->fd) != 0)
    ok = set_errno_error (error, errno, "write", file->path);
  if (close (file->fd) != 0 && errno != EINTR && ok)
    ok = set_errno_error (error, errno, "write", file->path);
  file->fd = -1;
  if (ok && file->tmp != NULL && g_rename (file->tmp, file->target) != 0)
    ok = set_errno_error (error, errno, "rename", file->path);
  if (ok)
    g_clear_pointer (&file->tmp, g_free);
  imp_output_file_abort (file);
  return ok;
}

/**
 * imp_output_file_abort:
 * @file: (transfer full): a file being written
 *
 * Stops writing: a temporary file is removed and the target left as it
 * was. Frees @file.
 */
void
imp_output_file_abort (ImpOutputFile *file)
{
  g_return_if_fail (file != NULL);

  if (file->fd >= 0)
    close (file->fd);
  if (file->tmp != NULL)
    g_unlink (file->tmp);
  g_free (file->tmp);
  g_free (file->target);
  g_free (file->path);
  g_free (file);
}

/**
 * imp_output_write_file:
 * @path: the file to write
 * @contents: (array length=length): the bytes
 * @length: their count
 * @error: return location for a #GError
 *
 * Writes a result file the way a user expects:
 *
 * - a regular file, or a name that does not exist yet, is replaced
 *   atomically (a temporary file beside it, renamed over it), keeping an
 *   existing file's permissions;
 * - a symbolic link is followed: the file it points to is replaced (or
 *   created), the link stays;
 * - anything else that exists (a device such as /dev/null or /dev/full, a
 *   FIFO, a terminal) is written to directly and never replaced; this
 *   process's own descriptors (/dev/stdout, /dev/stderr, /dev/fd/N) are
 *   written through, like a shell redirection, /proc or not; other links
 *   through /proc are appended to;
 * - a folder is an error.
 *
 * Returns: %TRUE on success; otherwise %FALSE with a %G_FILE_ERROR set
 *   (a full device gives %G_FILE_ERROR_NOSPC)
 */
gboolean
imp_output_write_file (const char  *path,
                       const char  *contents,
                       gsize        length,
                       GError     **error)
{
  ImpOutputFile *file;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (contents != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  file = imp_output_file_open (path, error);
  if (file == NULL)
    return FALSE;
  if (!imp_output_file_write (file, contents, length, error))
    {
      imp_output_file_abort (file);
      return FALSE;
    }
  return imp_output_file_commit (file, error);
}

/* @value with @digits significant digits ("%.Ng"), '.' whatever the
 * locale, into @buf; returns @buf. */
static const char *
format_digits (char   *buf,
               gsize   size,
               int     digits,
               double  value)
{
  static const char * const formats[] = {
    "%.0g", "%.1g", "%.2g", "%.3g", "%.4g", "%.5g", "%.6g", "%.7g", "%.8g",
    "%.9g", "%.10g", "%.11g", "%.12g", "%.13g", "%.14g", "%.15g", "%.16g",
    "%.17g"
  };

  g_assert (digits >= 0 && digits < (int) G_N_ELEMENTS (formats));
  return g_ascii_formatd (buf, (int) size, formats[digits], value);
}

/* Whether @text reads back as @value (rounded to single precision when
 * @single, as a reader that stores a float would round it). */
static gboolean
reads_back (const char *text,
            double      value,
            gboolean    single)
{
  double v = g_ascii_strtod (text, NULL);

  return single ? (float) v == (float) value : v == value;
}

/* The shortest text of at least 6 significant digits that reads back as
 * @value: at most 17 digits, or 9 for a single-precision @value. */
static void
append_shortest (GString  *out,
                 double    value,
                 gboolean  single)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  int lo = 6, hi = single ? 9 : 17, exponent;

  /* If p digits read back exactly, so do p + 1 (the nearest decimal of
   * p + 1 digits is at least as near), so the shortest is bisected; the
   * most digits always read back. Not at a power of two, whose neighbour
   * below is nearer than the one above: there every length is tried. */
  if (fabs (frexp (value, &exponent)) == 0.5)
    {
      while (lo < hi
             && !reads_back (format_digits (buf, sizeof buf, lo, value),
                             value, single))
        lo++;
      hi = lo;
    }
  while (lo < hi)
    {
      int mid = (lo + hi) / 2;

      if (reads_back (format_digits (buf, sizeof buf, mid, value), value,
                      single))
        hi = mid;
      else
        lo = mid + 1;
    }
  g_string_append (out, format_digits (buf, sizeof buf, lo, value));
}

/**
 * imp_output_append_double:
 * @out: where to append
 * @value: a finite number
 *
 * Appends the shortest decimal text (at least 6 significant digits) that
 * reads back as exactly @value, with '.' whatever the locale.
 */
void
imp_output_append_double (GString *out,
                          double   value)
{
  g_return_if_fail (out != NULL);

  append_shortest (out, value, FALSE);
}

/* As append_shortest(), marked as a double for JSON readers by a '.' or
 * an exponent; null when not finite. */
static void
append_json_number (GString  *out,
                    double    value,
                    gboolean  single)
{
  gsize start = out->len;

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  append_shortest (out, value, single);
  if (strpbrk (out->str + start, ".eE") == NULL)
    g_string_append (out, ".0");
}

static gboolean
is_integer (const char *token)
{
  const char *digits = token + (token[0] == '-');

  return digits[0] != '\0' && strspn (digits, "0123456789") == strlen (digits);
}

/* Copies one literal of the generated text (a number, true, false, null,
 * or what JsonGenerator makes of NaN and infinities) as valid JSON. */
static void
append_literal (GString    *out,
                const char *text,
                gsize       len)
{
  g_autofree char *token = g_strndup (text, len);
  double value;

  if (g_str_equal (token, "true") || g_str_equal (token, "false")
      || g_str_equal (token, "null"))
    {
      g_string_append (out, token);
      return;
    }
  if (is_integer (token))
    {
      g_string_append (out, token);
      return;
    }

  /* Doubles: JsonGenerator writes "1e+20.0", "nan.0" and "inf.0". */
  value = g_ascii_strtod (token, NULL);
  append_json_number (out, value, FALSE);
}

/* Copies the string literal at text[0] == '"' and returns its length,
 * replacing bytes that are not UTF-8 and escaping control characters
 * (JsonGenerator passes both through; json-glib 1.6 leaves U+001F). */
static gsize
append_string (GString    *out,
               const char *text,
               gsize       len)
{
  gsize end = 1;
  g_autofree char *valid = NULL;
  const char *p;

  while (end < len && text[end] != '"')
    end += text[end] == '\\' ? 2 : 1;
  end = MIN (end + 1, len);

  if (!g_utf8_validate (text, (gssize) end, NULL))
    valid = g_utf8_make_valid (text, (gssize) end);
  else
    valid = g_strndup (text, end);
  for (p = valid; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      g_string_append_printf (out, "\\u%04x", (guchar) *p);
    else
      g_string_append_c (out, *p);
  return end;
}

/* @text as a JSON string literal: escaped, and with bytes that are not
 * UTF-8 replaced by U+FFFD. */
static void
append_quoted (GString    *out,
               const char *text)
{
  g_autofree char *valid = NULL;
  const char *p;

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);
  g_string_append_c (out, '"');
  for (p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

/**
 * imp_json_writer_init:
 * @w: a writer
 * @out: where the text goes
 * @depth: the nesting depth at which values start
 *
 * Starts writing JSON text into @out as JsonGenerator's pretty printing
 * lays it out (two spaces per level, "name" : value), one value after
 * another, without building a tree: for long arrays of numbers, which
 * the generator would print one per line with every double's 17 digits.
 * Numbers are written as imp_output_json_to_data() writes them.
 */
void
imp_json_writer_init (ImpJsonWriter *w,
                      GString       *out,
                      guint          depth)
{
  g_return_if_fail (w != NULL && out != NULL);
  g_return_if_fail (depth < 32);

  w->out = out;
  w->depth = depth;
  w->written = 0;
}

/* The separator, the new line and indent, and the member's name. */
static void
writer_start (ImpJsonWriter *w,
              const char    *name)
{
  guint bit = 1u << w->depth, k;

  g_string_append (w->out, (w->written & bit) ? ",\n" : "\n");
  w->written |= bit;
  for (k = 0; k < w->depth; k++)
    g_string_append (w->out, "  ");
  if (name != NULL)
    {
      append_quoted (w->out, name);
      g_string_append (w->out, " : ");
    }
}

static void
writer_open (ImpJsonWriter *w,
             const char    *name,
             char           bracket)
{
  g_return_if_fail (w->depth < 31);

  writer_start (w, name);
  g_string_append_c (w->out, bracket);
  w->depth++;
  w->written &= ~(1u << w->depth);
}

static void
writer_close (ImpJsonWriter *w,
              char           bracket)
{
  guint k;

  g_return_if_fail (w->depth > 0);

  if (w->written & (1u << w->depth))
    {
      g_string_append_c (w->out, '\n');
      for (k = 0; k + 1 < w->depth; k++)
        g_string_append (w->out, "  ");
    }
  w->depth--;
  g_string_append_c (w->out, bracket);
}

/**
 * imp_json_writer_begin_object:
 * @w: a writer
 * @name: (nullable): the member's name, or %NULL for an array element or
 *   the top level
 */
void
imp_json_writer_begin_object (ImpJsonWriter *w,
                              const char    *name)
{
  writer_open (w, name, '{');
}

void
imp_json_writer_end_object (ImpJsonWriter *w)
{
  writer_close (w, '}');
}

void
imp_json_writer_begin_array (ImpJsonWriter *w,
                             const char    *name)
{
  writer_open (w, name, '[');
}

void
imp_json_writer_end_array (ImpJsonWriter *w)
{
  writer_close (w, ']');
}

/**
 * imp_json_writer_double:
 * @w: a writer
 * @name: (nullable): the member's name
 * @value: a number; not finite is written as null
 */
void
imp_json_writer_double (ImpJsonWriter *w,
                        const char    *name,
                        double         value)
{
  writer_start (w, name);
  append_json_number (w->out, value, FALSE);
}

void
imp_json_writer_int (ImpJsonWriter *w,
                     const char    *name,
                     gint64         value)
{
  writer_start (w, name);
  g_string_append_printf (w->out, "%" G_GINT64_FORMAT, value);
}

void
imp_json_writer_boolean (ImpJsonWriter *w,
                         const char    *name,
                         gboolean       value)
{
  writer_start (w, name);
  g_string_append (w->out, value ? "true" : "false");
}

/**
 * imp_json_writer_string:
 * @w: a writer
 * @name: (nullable): the member's name
 * @value: (nullable): the text; %NULL is written as null
 */
void
imp_json_writer_string (ImpJsonWriter *w,
                        const char    *name,
                        const char    *value)
{
  writer_start (w, name);
  if (value != NULL)
    append_quoted (w->out, value);
  else
    g_string_append (w->out, "null");
}

/**
 * imp_json_writer_floats:
 * @w: a writer
 * @name: (nullable): the member's name
 * @values: (array length=n) (nullable): the numbers
 * @n: how many
 *
 * An array of single-precision numbers on one line, each the shortest
 * text that reads back to it (at most 9 digits); not finite is
 * written as null.
 */
void
imp_json_writer_floats (ImpJsonWriter *w,
                        const char    *name,
                        const float   *values,
                        gsize          n)
{
  gsize i;

  g_return_if_fail (values != NULL || n == 0);

  writer_start (w, name);
  g_string_append_c (w->out, '[');
  for (i = 0; i < n; i++)
    {
      g_string_append (w->out, i > 0 ? ", " : " ");
      append_json_number (w->out, values[i], TRUE);
    }
  g_string_append (w->out, n > 0 ? " ]" : "]");
}

/**
 * imp_output_json_to_data:
 * @root: the document
 * @pretty: indent it
 * @length: (out) (optional): the text's length
 *
 * Generates JSON text as JsonGenerator does, then makes it valid: NaN and
 * infinite numbers become `null`; doubles are written as the shortest text
 * that reads back to the same value, with a '.' or an exponent (JsonGenerator
 * writes `1e+20.0`, which is not JSON); bytes in strings that are not UTF-8
 * become U+FFFD.
 *
 * Returns: (transfer full): the text
 */
char *
imp_output_json_to_data (JsonNode *root,
                         gboolean  pretty,
                         gsize    *length)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *raw = NULL;
  GString *out;
  gsize len, i = 0;

  g_return_val_if_fail (root != NULL, NULL);

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, pretty);
  raw = json_generator_to_data (generator, &len);

  out = g_string_sized_new (len + 16);
  while (i < len)
    {
      char c = raw[i];

      if (c == '"')
        i += append_string (out, raw + i, len - i);
      else if (c == '-' || g_ascii_isalnum (c))
        {
          gsize j = i;

          while (j < len && (g_ascii_isalnum (raw[j]) || raw[j] == '.'
                             || raw[j] == '-' || raw[j] == '+'))
            j++;
          append_literal (out, raw + i, j - i);
          i = j;
        }
      else
        {
          g_string_append_c (out, c);
          i++;
        }
    }

  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}
