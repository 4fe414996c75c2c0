/* imp-cli.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <json-glib/json-glib.h>

#include "imp-activity.h"
#include "imp-analysis.h"
#include "imp-cli.h"
#include "imp-map.h"
#include "imp-output.h"
#include "imp-pyramid.h"
#include "imp-recording.h"
#include "imp-simulate.h"

/* Exit codes: 0 success, 1 failure on the input or while working,
 * 2 bad usage. Every failure prints exactly one line on stderr. */
enum
{
  EXIT_OK    = 0,
  EXIT_FAIL  = 1,
  EXIT_USAGE = 2,
};

typedef int (*CommandFunc) (int    argc,
                            char **argv);

typedef struct
{
  const char  *name;
  CommandFunc  func;
  const char  *summary;
} Command;

static int cmd_info     (int argc, char **argv);
static int cmd_analyze  (int argc, char **argv);
static int cmd_simulate (int argc, char **argv);
static int cmd_score    (int argc, char **argv);
static int cmd_pyramid  (int argc, char **argv);
static int cmd_activity (int argc, char **argv);
static int cmd_help     (int argc, char **argv);

static const Command commands[] = {
  { "info", cmd_info, "Describe a recording: format, channels, rate, sweeps" },
  { "analyze", cmd_analyze, "Find synaptic connections (AP→PSP) headless" },
  { "simulate", cmd_simulate, "Write a simulated network recording with ground truth" },
  { "score", cmd_score, "Score a connection map against a simulation's truth" },
  { "pyramid", cmd_pyramid, "Build or check a recording's overview (project file)" },
  { "activity", cmd_activity, "Each channel's peak-to-peak and RMS over a time window" },
  { "help", cmd_help, "Show this help" },
};

static int
fail (int         code,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static int
fail (int         code,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* One line, whatever the message held. */
  g_strdelimit (message, "\n\r", ' ');
  fprintf (stderr, "imprint: %s\n", message);
  return code;
}

/* -q/--quiet, accepted by every command: no progress and no warnings on
 * stderr; errors are still printed. The JSON outputs keep their warning
 * fields. */
#define QUIET_HELP "No progress and no warnings on stderr (errors still)"
#define QUIET_ENTRY(target) \
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, (target), QUIET_HELP, NULL }

/* Each warning line gets its own prefix, so a script can grep them. */
static void
print_warning (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (*g_strstrip (lines[i]) != '\0')
      fprintf (stderr, "imprint: warning: %s\n", lines[i]);
}

gboolean
imp_cli_is_command (const char *word)
{
  g_return_val_if_fail (word != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (word, commands[i].name))
      return TRUE;

  return g_str_equal (word, "--help") || g_str_equal (word, "-h")
         || g_str_equal (word, "--version");
}

static int
cmd_help (int    argc,
          char **argv)
{
  printf ("Usage:\n  imprint [FILE]            open the window (on FILE)\n");
  printf ("  imprint COMMAND [OPTIONS] run headless\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    printf ("  %-10s %s\n", commands[i].name, commands[i].summary);
  printf ("\nRun 'imprint COMMAND --help' for a command's options.\n");
  return EXIT_OK;
}

static gboolean
parse_options (GOptionContext  *context,
               int             *argc,
               char          ***argv,
               int             *exit_code)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *exit_code = fail (EXIT_USAGE, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

static ImpRecording *
open_recording (const char *path,
                gboolean    quiet,
                int        *exit_code)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *recording;

  recording = imp_recording_open (path, &error);
  if (recording == NULL)
    {
      *exit_code = fail (EXIT_FAIL, "%s: %s", path, error->message);
      return NULL;
    }
  if (imp_recording_get_warning (recording) != NULL && !quiet)
    print_warning (imp_recording_get_warning (recording));
  return recording;
}

/* A label for a one-line table: control characters (a newline or a tab
 * in a file's channel name) become spaces. */
static char *
printable (const char *text)
{
  char *copy = g_strdup (text != NULL ? text : "");

  for (char *p = copy; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return copy;
}

/* From the start of the first sweep to the end of the last. */
static double
recording_span (ImpRecording *recording)
{
  double rate = imp_recording_get_sample_rate (recording);
  double first_start = G_MAXDOUBLE, last_end = -G_MAXDOUBLE;

  for (guint i = 0; i < imp_recording_get_n_sweeps (recording); i++)
    {
      const ImpSweep *sweep = imp_recording_get_sweep (recording, i);

      first_start = MIN (first_start, sweep->start_s);
      last_end = MAX (last_end, sweep->start_s + sweep->n_samples / rate);
    }
  return last_end > first_start ? last_end - first_start : 0.0;
}

static JsonNode *
recording_to_json (ImpRecording *recording)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint n_channels = imp_recording_get_n_channels (recording);
  guint n_sweeps = imp_recording_get_n_sweeps (recording);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, imp_recording_get_path (recording));
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, imp_recording_get_format (recording));
  json_builder_set_member_name (builder, "sample_rate_hz");
  json_builder_add_double_value (builder,
                                 imp_recording_get_sample_rate (recording));
  json_builder_set_member_name (builder, "samples_per_channel");
  json_builder_add_int_value (builder, imp_recording_get_n_samples (recording));
  json_builder_set_member_name (builder, "duration_s");
  json_builder_add_double_value (builder, imp_recording_get_duration (recording));
  json_builder_set_member_name (builder, "span_s");
  json_builder_add_double_value (builder, recording_span (recording));

  json_builder_set_member_name (builder, "channels");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n_channels; i++)
    {
      const ImpChannel *channel = imp_recording_get_channel (recording, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "index");
      json_builder_add_int_value (builder, i);
      json_builder_set_member_name (builder, "label");
      json_builder_add_string_value (builder, channel->label);
      json_builder_set_member_name (builder, "unit");
      json_builder_add_string_value (builder, channel->unit);
      json_builder_set_member_name (builder, "access");
      json_builder_add_string_value (builder, imp_access_to_string (channel->access));
      if (channel->has_position)
        {
          json_builder_set_member_name (builder, "x_um");
          json_builder_add_double_value (builder, channel->x_um);
          json_builder_set_member_name (builder, "y_um");
          json_builder_add_double_value (builder, channel->y_um);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "sweeps");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n_sweeps; i++)
    {
      const ImpSweep *sweep = imp_recording_get_sweep (recording, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "start_s");
      json_builder_add_double_value (builder, sweep->start_s);
      json_builder_set_member_name (builder, "start_sample");
      json_builder_add_int_value (builder, sweep->start_sample);
      json_builder_set_member_name (builder, "samples");
      json_builder_add_int_value (builder, sweep->n_samples);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "warning");
  if (imp_recording_get_warning (recording) != NULL)
    json_builder_add_string_value (builder,
                                   imp_recording_get_warning (recording));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static void
print_info_text (ImpRecording *recording)
{
  guint n_channels = imp_recording_get_n_channels (recording);
  guint n_sweeps = imp_recording_get_n_sweeps (recording);
  char rate[G_ASCII_DTOSTR_BUF_SIZE];
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (rate, sizeof rate, "%.6g",
                   imp_recording_get_sample_rate (recording));
  printf ("File:        %s\n", imp_recording_get_path (recording));
  printf ("Format:      %s\n", imp_recording_get_format (recording));
  printf ("Rate:        %s Hz\n", rate);
  printf ("Samples:     %" G_GINT64_FORMAT " per channel\n",
          imp_recording_get_n_samples (recording));
  g_ascii_formatd (number, sizeof number, "%.3f",
                   imp_recording_get_duration (recording));
  printf ("Duration:    %s s recorded", number);
  if (n_sweeps > 1)
    {
      g_ascii_formatd (number, sizeof number, "%.3f", recording_span (recording));
      printf (" (the sweeps span %s s)", number);
    }
  printf ("\n");
  printf ("Sweeps:      %u\n", n_sweeps);
  for (guint i = 0; i < n_sweeps && i < 50; i++)
    {
      const ImpSweep *sweep = imp_recording_get_sweep (recording, i);

      g_ascii_formatd (number, sizeof number, "%.4f", sweep->start_s);
      printf ("  %3u  start %10s s  %" G_GINT64_FORMAT " samples\n",
              i, number, sweep->n_samples);
    }
  if (n_sweeps > 50)
    printf ("  … %u more\n", n_sweeps - 50);
  printf ("Channels:    %u\n", n_channels);
  for (guint i = 0; i < n_channels; i++)
    {
      const ImpChannel *channel = imp_recording_get_channel (recording, i);

      g_autofree char *label = printable (channel->label);
      g_autofree char *unit = printable (channel->unit);

      printf ("  %4u  %-16s %-4s %s\n", i, label, unit,
              imp_access_to_string (channel->access));
    }
}

static char *
node_to_text (JsonNode *root)
{
  /* Our own number formatting: json-glib writes some doubles in a form
   * that is not valid JSON. */
  return imp_output_json_to_data (root, TRUE, NULL);
}

static int
cmd_info (int    argc,
          char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(ImpRecording) recording = NULL;
  gboolean as_json = FALSE;
  gboolean quiet = FALSE;
  int exit_code = EXIT_OK;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL },
    QUIET_ENTRY (&quiet),
    { NULL }
  };

  context = g_option_context_new ("FILE - describe a recording");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &exit_code))
    return exit_code;
  if (argc != 2)
    return fail (EXIT_USAGE, "info needs exactly one FILE (see imprint info --help)");

  recording = open_recording (argv[1], quiet, &exit_code);
  if (recording == NULL)
    return exit_code;

  if (as_json)
    {
      g_autoptr(JsonNode) root = recording_to_json (recording);
      g_autofree char *text = node_to_text (root);

      printf ("%s\n", text);
    }
  else
    print_info_text (recording);

  return EXIT_OK;
}

/* Progress on stderr: a rewritten line on a terminal, otherwise a new line
 * whenever the stage changes or another tenth is done. */
typedef struct
{
  GMutex    lock;
  gboolean  tty;
  char     *stage;
  int       last_tenth;
  gboolean  quiet;
} CliProgress;

static void
cli_progress_cb (double      fraction,
                 const char *stage,
                 gpointer    user_data)
{
  CliProgress *progress = user_data;
  int tenth = (int) floor (CLAMP (fraction, 0.0, 1.0) * 10.0);
  gboolean new_stage;

  if (progress->quiet)
    return;

  g_mutex_lock (&progress->lock);
  new_stage = g_strcmp0 (stage, progress->stage) != 0;
  if (progress->tty)
    {
      fprintf (stderr, "\r\033[K%s: %3.0f%%", stage, fraction * 100.0);
      if (new_stage && progress->stage != NULL)
        fprintf (stderr, "\n");
    }
  else if (new_stage || tenth != progress->last_tenth)
    fprintf (stderr, "%s: %3.0f%%\n", stage, fraction * 100.0);
  if (new_stage)
    {
      g_free (progress->stage);
      progress->stage = g_strdup (stage);
    }
  progress->last_tenth = tenth;
  fflush (stderr);
  g_mutex_unlock (&progress->lock);
}

static void
cli_progress_finish (CliProgress *progress)
{
  if (progress->tty && progress->stage != NULL && !progress->quiet)
    fprintf (stderr, "\n");
  g_clear_pointer (&progress->stage, g_free);
  g_mutex_clear (&progress->lock);
}

/* Plain decimal numbers only: an optional sign, digits with at most one
 * point, an optional exponent. No hex, no spaces, no "nan" or "inf". */
static gboolean
is_decimal (const char *text)
{
  const char *p = text;
  gboolean digits = FALSE;

  if (*p == '+' || *p == '-')
    p++;
  while (g_ascii_isdigit (*p))
    p++, digits = TRUE;
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++)
      digits = TRUE;
  if (!digits)
    return FALSE;
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  return *p == '\0';
}

static gboolean
parse_double (const char  *text,
              double      *out)
{
  double value;

  if (text == NULL || !is_decimal (text))
    return FALSE;
  value = g_ascii_strtod (text, NULL);
  if (!isfinite (value))
    return FALSE;
  *out = value;
  return TRUE;
}

/* "WHAT (default VALUE UNIT)", kept alive by @keep; defaults come from the
 * core's own init functions so the help never drifts from the code. */
static const char *
describe (GPtrArray  *keep,
          const char *what,
          double      value,
          const char *unit)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  char *text;

  g_ascii_formatd (number, sizeof number, "%g", value);
  text = g_strdup_printf ("%s (default %s%s%s)", what, number,
                          *unit != '\0' ? " " : "", unit);
  g_ptr_array_add (keep, text);
  return text;
}

typedef struct
{
  const char *name;
  double     *target;
  double      min;
  double      max;
  const char *unit;
} DoubleOption;

/* Numbers are parsed here, locale-independently, rather than by
 * GOptionContext, which follows the user's locale for decimal points. */
static gboolean
apply_double_options (const DoubleOption *options,
                      guint               n_options,
                      char              **texts,
                      int                *exit_code)
{
  for (guint i = 0; i < n_options; i++)
    {
      double value;

      if (texts[i] == NULL)
        continue;
      if (!parse_double (texts[i], &value))
        {
          *exit_code = fail (EXIT_USAGE, "--%s: '%s' is not a number",
                             options[i].name, texts[i]);
          return FALSE;
        }
      if (value < options[i].min || value > options[i].max)
        {
          char lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
          const char *space = *options[i].unit != '\0' ? " " : "";

          g_ascii_formatd (lo, sizeof lo, "%.10g", options[i].min);
          g_ascii_formatd (hi, sizeof hi, "%.10g", options[i].max);
          *exit_code = fail (EXIT_USAGE, "--%s: %s%s%s is outside %s to %s%s%s",
                             options[i].name, texts[i], space, options[i].unit,
                             lo, hi, space, options[i].unit);
          return FALSE;
        }
      *options[i].target = value;
    }
  return TRUE;
}

/* Counts and seeds must be whole numbers (after apply_double_options()
 * has checked that they are numbers in range). */
static gboolean
whole_numbers (const DoubleOption *options,
               guint               n_options,
               char              **texts,
               int                *exit_code)
{
  for (guint i = 0; i < n_options; i++)
    if (texts[i] != NULL && *options[i].target != floor (*options[i].target))
      {
        *exit_code = fail (EXIT_USAGE, "--%s: '%s' is not a whole number",
                           options[i].name, texts[i]);
        return FALSE;
      }
  return TRUE;
}

/* Two names for one file? Compares device and inode when both exist,
 * else the absolute, canonical names. */
static gboolean
same_file (const char *a,
           const char *b)
{
  g_autofree char *ca = NULL;
  g_autofree char *cb = NULL;
  GStatBuf sa, sb;

  if (a == NULL || b == NULL)
    return FALSE;
  if (g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  ca = g_canonicalize_filename (a, NULL);
  cb = g_canonicalize_filename (b, NULL);
  return g_str_equal (ca, cb);
}

/* Checks an output path before any work is done, so a long run does not
 * end in "cannot write". "-" means standard output. */
static gboolean
check_output (const char  *option,
              const char  *path,
              const char  *input,
              const char  *other_option,
              const char  *other,
              int         *exit_code)
{
  g_autofree char *dir = NULL;

  if (path == NULL || g_str_equal (path, "-"))
    return TRUE;
  if (*path == '\0')
    {
      *exit_code = fail (EXIT_USAGE, "--%s needs a file name", option);
      return FALSE;
    }
  if (input != NULL && same_file (path, input))
    {
      *exit_code = fail (EXIT_USAGE, "--%s %s is the input recording; "
                         "refusing to overwrite it", option, path);
      return FALSE;
    }
  if (other != NULL && same_file (path, other))
    {
      *exit_code = fail (EXIT_USAGE, "--%s and --%s name the same file, %s",
                         option, other_option, path);
      return FALSE;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      *exit_code = fail (EXIT_USAGE, "--%s %s is a folder", option, path);
      return FALSE;
    }
  dir = g_path_get_dirname (path);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      *exit_code = fail (EXIT_USAGE, "--%s: folder %s does not exist", option, dir);
      return FALSE;
    }
  if (g_access (dir, W_OK) != 0 && g_access (path, W_OK) != 0)
    {
      *exit_code = fail (EXIT_USAGE, "--%s: cannot write in %s", option, dir);
      return FALSE;
    }
  return TRUE;
}

/* "-" is standard output; the core's writers write into a pipe, a
 * terminal or a redirected file in place. */
static const char *
output_path (const char *path)
{
  if (path != NULL && g_str_equal (path, "-"))
    return "/dev/stdout";
  return path;
}

static ImpAnalysisParams
analysis_defaults (void)
{
  ImpAnalysisParams params;

  imp_analysis_params_init_default (&params);
  return params;
}

static ImpSimParams
simulation_defaults (void)
{
  ImpSimParams params;

  imp_sim_params_init_default (&params);
  return params;
}

/* The pairs below alpha that a check withdrew, by reason (the first that
 * applies, as the Pairs view's verdict), or NULL for none. */
static char *
withdrawn_summary (const ImpAnalysisResult *result)
{
  guint n[4] = { 0 };
  const char *names[4] = { "artefacts", "common input", "chains (onsets)",
                           "explained by other inputs" };
  char alpha[G_ASCII_DTOSTR_BUF_SIZE];
  GString *text;
  guint i;

  for (i = 0; i < result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (result->candidates, i);

      if (c->significant || !(c->p_value <= result->params.alpha))
        continue;
      if (c->artefact)
        n[0]++;
      else if (c->common_input)
        n[1]++;
      else if (c->polysynaptic)
        n[2]++;
      else if (c->explained)
        n[3]++;
    }
  if (n[0] + n[1] + n[2] + n[3] == 0)
    return NULL;
  g_ascii_formatd (alpha, sizeof alpha, "%g", result->params.alpha);
  text = g_string_new (NULL);
  g_string_append_printf (text, "withdrawn at p ≤ %s:", alpha);
  for (i = 0; i < G_N_ELEMENTS (n); i++)
    if (n[i] > 0)
      g_string_append_printf (text, "%s %u %s",
                              text->str[text->len - 1] == ':' ? "" : ",",
                              n[i], names[i]);
  return g_string_free (text, FALSE);
}

static int
cmd_analyze (int    argc,
             char **argv)
{
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  ImpAnalysisParams params = analysis_defaults ();
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpAnalysisResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *csv_path = NULL;
  g_autofree char *json_path = NULL;
  CliProgress progress = { 0 };
  gboolean quiet = FALSE;
  int exit_code = EXIT_OK;
  char *texts[14] = { NULL };
  char *quantal_texts[4] = { NULL };
  char *count_texts[1] = { NULL };
  double n_surrogates_d;
  double count_d[1];
  double quantal_d[4];
  DoubleOption numeric[] = {
    { "ap-threshold", NULL, 2, 1000, "SD" },
    { "ap-min-height", NULL, 1, 500, "mV" },
    { "psp-threshold", NULL, 1, 100, "SD" },
    { "latency-min", NULL, 0, 100, "ms" },
    { "latency-max", NULL, 0.1, 200, "ms" },
    { "alpha", NULL, 1e-12, 0.5, "" },
    { "surrogates", NULL, 10, 100000, "" },
    { "deconv-tau", NULL, 0.5, 1000, "ms" },
    { "psc-window", NULL, 0.1, 50, "ms" },
    { "baseline", NULL, 1, 500, "ms" },
    { "lead", NULL, 1, 500, "ms" },
    { "ap-blank", NULL, 0, 100, "ms" },
    { "common-input-z", NULL, 0.1, 1000, "" },
    { "spread-z", NULL, 0.1, 1000, "" },
  };
  DoubleOption quantal[] = {
    { "quantal-n-max", NULL, 1, IMP_QUANTAL_MAX_SITES, "" },
    { "quantal-min-trials", NULL, 20, 1000000, "" },
    { "quantal-bootstrap", NULL, 0, 10000, "" },
    { "quantal-seed", NULL, 0, 4294967295.0, "" },
  };
  DoubleOption counts[] = {
    { "max-candidates", NULL, 0, 4294967295.0, "" },
  };
  GOptionEntry entries[] = {
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path,
      "Write the connection map as CSV", "MAP.csv" },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path,
      "Write a JSON summary", "SUMMARY.json" },
    { "ap-threshold", 0, 0, G_OPTION_ARG_STRING, &texts[0],
      describe (keep, "AP dV/dt threshold in robust SDs",
                params.ap_threshold_sd, ""),
      "SD" },
    { "ap-min-height", 0, 0, G_OPTION_ARG_STRING, &texts[1],
      describe (keep, "Minimum AP height above baseline",
                params.ap_min_height_mv, "mV"),
      "MV" },
    { "psp-threshold", 0, 0, G_OPTION_ARG_STRING, &texts[2],
      describe (keep, "PSP detection threshold in robust SDs",
                params.psp_threshold_sd, ""),
      "SD" },
    { "latency-min", 0, 0, G_OPTION_ARG_STRING, &texts[3],
      describe (keep, "Shortest synaptic latency",
                params.latency_min_ms, "ms"),
      "MS" },
    { "latency-max", 0, 0, G_OPTION_ARG_STRING, &texts[4],
      describe (keep, "Longest synaptic latency",
                params.latency_max_ms, "ms"),
      "MS" },
    { "alpha", 0, 0, G_OPTION_ARG_STRING, &texts[5],
      describe (keep, "False discovery rate (Benjamini-Hochberg) over all pairs",
                params.alpha, ""),
      "P" },
    { "surrogates", 0, 0, G_OPTION_ARG_STRING, &texts[6],
      describe (keep, "Jittered presynaptic trains for the null",
                params.n_surrogates, ""),
      "N" },
    { "deconv-tau", 0, 0, G_OPTION_ARG_STRING, &texts[7],
      describe (keep, "Membrane decay removed by deconvolution",
                params.deconv_tau_ms, "ms"),
      "MS" },
    { "psc-window", 0, 0, G_OPTION_ARG_STRING, &texts[8],
      describe (keep, "Width of the summed window of the waveform test",
                params.psc_window_ms, "ms"),
      "MS" },
    { "baseline", 0, 0, G_OPTION_ARG_STRING, &texts[9],
      describe (keep, "Each flank of a trial's local baseline",
                params.baseline_ms, "ms"),
      "MS" },
    { "lead", 0, 0, G_OPTION_ARG_STRING, &texts[10],
      describe (keep, "How far before the AP to look for common input",
                params.lead_ms, "ms"),
      "MS" },
    { "ap-blank", 0, 0, G_OPTION_ARG_STRING, &texts[11],
      describe (keep, "A cell's own AP is left out to this after its peak",
                params.ap_blank_ms, "ms"),
      "MS" },
    { "common-input-z", 0, 0, G_OPTION_ARG_STRING, &texts[12],
      describe (keep, "t statistic before the AP that marks common input",
                params.common_input_z, ""),
      "T" },
    { "spread-z", 0, 0, G_OPTION_ARG_STRING, &texts[13],
      describe (keep, "z of PSP onsets spread beyond the best window that "
                "marks a response not time-locked to the AP (polysynaptic)",
                params.spread_z, ""),
      "Z" },
    { "max-candidates", 0, 0, G_OPTION_ARG_STRING, &count_texts[0],
      describe (keep, "Most candidates listed that are not significant, "
                "lowest p first (significant ones are always listed)",
                params.max_candidates, ""),
      "N" },
    { "quantal-n-max", 0, 0, G_OPTION_ARG_STRING, &quantal_texts[0],
      describe (keep, "Quantal fit: most release sites tried",
                params.quantal.n_max, ""),
      "N" },
    { "quantal-min-trials", 0, 0, G_OPTION_ARG_STRING, &quantal_texts[1],
      describe (keep, "Quantal fit: fewer isolated trials are refused",
                params.quantal.min_trials, ""),
      "N" },
    { "quantal-bootstrap", 0, 0, G_OPTION_ARG_STRING, &quantal_texts[2],
      describe (keep, "Quantal fit: bootstrap replicates for the intervals",
                params.quantal.n_bootstrap, ""),
      "N" },
    { "quantal-seed", 0, 0, G_OPTION_ARG_STRING, &quantal_texts[3],
      describe (keep, "Quantal fit: bootstrap seed",
                (double) params.quantal.seed, ""),
      "K" },
    QUIET_ENTRY (&quiet),
    { NULL }
  };

  n_surrogates_d = params.n_surrogates;
  numeric[0].target = &params.ap_threshold_sd;
  numeric[1].target = &params.ap_min_height_mv;
  numeric[2].target = &params.psp_threshold_sd;
  numeric[3].target = &params.latency_min_ms;
  numeric[4].target = &params.latency_max_ms;
  numeric[5].target = &params.alpha;
  numeric[6].target = &n_surrogates_d;
  numeric[7].target = &params.deconv_tau_ms;
  numeric[8].target = &params.psc_window_ms;
  numeric[9].target = &params.baseline_ms;
  numeric[10].target = &params.lead_ms;
  numeric[11].target = &params.ap_blank_ms;
  numeric[12].target = &params.common_input_z;
  numeric[13].target = &params.spread_z;
  quantal_d[0] = params.quantal.n_max;
  quantal_d[1] = params.quantal.min_trials;
  quantal_d[2] = params.quantal.n_bootstrap;
  quantal_d[3] = (double) params.quantal.seed;
  for (guint i = 0; i < G_N_ELEMENTS (quantal); i++)
    quantal[i].target = &quantal_d[i];
  count_d[0] = params.max_candidates;
  counts[0].target = &count_d[0];

  context = g_option_context_new ("FILE - find synaptic connections");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &exit_code))
    goto out;
  if (argc != 2)
    {
      exit_code = fail (EXIT_USAGE,
                        "analyze needs exactly one FILE (see imprint analyze --help)");
      goto out;
    }
  if (!apply_double_options (numeric, G_N_ELEMENTS (numeric), texts, &exit_code)
      /* a count of surrogates */
      || !whole_numbers (&numeric[6], 1, &texts[6], &exit_code)
      || !apply_double_options (quantal, G_N_ELEMENTS (quantal), quantal_texts,
                                &exit_code)
      || !whole_numbers (quantal, G_N_ELEMENTS (quantal), quantal_texts,
                         &exit_code)
      || !apply_double_options (counts, G_N_ELEMENTS (counts), count_texts,
                                &exit_code)
      || !whole_numbers (counts, G_N_ELEMENTS (counts), count_texts,
                         &exit_code))
    goto out;
  params.n_surrogates = (guint) n_surrogates_d;
  params.quantal.n_max = (guint) quantal_d[0];
  params.quantal.min_trials = (guint) quantal_d[1];
  params.quantal.n_bootstrap = (guint) quantal_d[2];
  params.quantal.seed = (guint64) quantal_d[3];
  params.max_candidates = (guint) count_d[0];
  if (params.latency_min_ms >= params.latency_max_ms)
    {
      exit_code = fail (EXIT_USAGE, "--latency-min must be below --latency-max");
      goto out;
    }
  if (!imp_analysis_params_validate (&params, &error))
    {
      exit_code = fail (EXIT_USAGE, "%s", error->message);
      goto out;
    }
  if (!check_output ("csv", csv_path, argv[1], "json", json_path, &exit_code)
      || !check_output ("json", json_path, argv[1], "csv", csv_path, &exit_code))
    goto out;
  if (g_strcmp0 (csv_path, "-") == 0 && g_strcmp0 (json_path, "-") == 0)
    {
      exit_code = fail (EXIT_USAGE, "only one of --csv and --json can be -");
      goto out;
    }

  recording = open_recording (argv[1], quiet, &exit_code);
  if (recording == NULL)
    goto out;

  g_mutex_init (&progress.lock);
  progress.tty = isatty (STDERR_FILENO);
  progress.last_tenth = -1;
  progress.quiet = quiet;
  result = imp_analysis_run (recording, &params, cli_progress_cb, &progress,
                             NULL, &error);
  cli_progress_finish (&progress);
  if (result == NULL)
    {
      exit_code = fail (EXIT_FAIL, "analysis of %s failed: %s", argv[1],
                        error->message);
      goto out;
    }

  if (csv_path != NULL)
    {
      g_autoptr(GArray) map = imp_analysis_result_to_map (result);

      if (!imp_map_write_csv (map, output_path (csv_path), &error))
        {
          exit_code = fail (EXIT_FAIL, "%s", error->message);
          goto out;
        }
    }
  if (json_path != NULL
      && !imp_analysis_result_write_json (result, recording,
                                          output_path (json_path), &error))
    {
      exit_code = fail (EXIT_FAIL, "%s", error->message);
      goto out;
    }

  if (result->warning != NULL && !quiet)
    print_warning (result->warning);
  if (!quiet)
    {
      g_autofree char *withdrawn = withdrawn_summary (result);

      fprintf (stderr, "%u connections by AP→PSP, %u by AP→AP, %u channels\n",
               result->n_connections, result->n_ap_ap_connections,
               result->n_channels);
      if (withdrawn != NULL)
        fprintf (stderr, "%s\n", withdrawn);
    }

out:
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_free (texts[i]);
  for (guint i = 0; i < G_N_ELEMENTS (quantal_texts); i++)
    g_free (quantal_texts[i]);
  for (guint i = 0; i < G_N_ELEMENTS (count_texts); i++)
    g_free (count_texts[i]);
  return exit_code;
}

static int
cmd_activity (int    argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpActivity) activity = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *from_text = NULL;
  g_autofree char *to_text = NULL;
  g_autofree char *csv_path = NULL;
  gboolean quiet = FALSE;
  int exit_code = EXIT_OK;
  double from = 0;
  double to = -1;
  double rate, span;
  gint64 first, end;
  GOptionEntry entries[] = {
    { "from", 0, 0, G_OPTION_ARG_STRING, &from_text,
      "Start of the window, in s from the start of the recording (default 0)",
      "S" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to_text,
      "End of the window, in s (default the end of the recording)", "S" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path,
      "Write the table here instead of to standard output", "OUT.csv" },
    QUIET_ENTRY (&quiet),
    { NULL }
  };

  context = g_option_context_new ("FILE - measure each channel's activity "
                                  "over a window");
  g_option_context_set_description (context,
    "Columns: index,label,x_um,y_um,unit,peak_to_peak,rms (RMS about the "
    "mean), in each channel's unit. Times count the sweeps end to end, as "
    "the Traces view does. The array overview shows the same numbers.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &exit_code))
    return exit_code;
  if (argc != 2)
    return fail (EXIT_USAGE, "activity needs exactly one FILE (see imprint activity --help)");
  if (from_text != NULL && (!parse_double (from_text, &from) || from < 0))
    return fail (EXIT_USAGE, "--from must be a number of seconds, at least 0");
  if (to_text != NULL && !parse_double (to_text, &to))
    return fail (EXIT_USAGE, "--to must be a number of seconds");
  if (!check_output ("csv", csv_path, argv[1], NULL, NULL, &exit_code))
    return exit_code;

  recording = open_recording (argv[1], quiet, &exit_code);
  if (recording == NULL)
    return exit_code;

  rate = imp_recording_get_sample_rate (recording);
  span = imp_recording_get_n_samples (recording) / rate;
  if (to_text == NULL)
    to = span;
  if (from >= span)
    return fail (EXIT_USAGE, "--from %g s is not before the recording's end "
                 "(%g s)", from, span);
  if (to <= from)
    return fail (EXIT_USAGE, "--to must be after --from");
  if (from >= span || to > span + 0.5 / rate)
    return fail (EXIT_USAGE, "the window %g to %g s is not within the "
                 "recording's %g s", from, to, span);

  first = (gint64) floor (from * rate);
  end = MIN ((gint64) ceil (to * rate), imp_recording_get_n_samples (recording));
  activity = imp_activity_measure (recording, first, end - first,
                                   end - first, NULL, &error);
  if (activity == NULL
      || !imp_activity_write_csv (activity, recording,
                                  output_path (csv_path != NULL ? csv_path
                                                                : "-"),
                                  &error))
    return fail (EXIT_FAIL, "%s", error->message);

  return EXIT_OK;
}

static int
cmd_simulate (int    argc,
              char **argv)
{
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  ImpSimParams params = simulation_defaults ();
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *truth = NULL;
  CliProgress progress = { 0 };
  gboolean quiet = FALSE;
  int exit_code = EXIT_OK;
  char *texts[17] = { NULL };
  g_autofree char *preset = NULL;
  gboolean vary_ahp = FALSE;
  double neurons_d, seed_d, hidden_d;
  DoubleOption numeric[] = {
    { "neurons", NULL, 2, 4096, "" },
    { "duration", NULL, 0.1, 3600, "s" },
    { "seed", NULL, 0, 4294967295.0, "" },
    { "rate", NULL, 1000, 100000, "Hz" },
    { "connection-prob", NULL, 0, 1, "" },
    { "noise", NULL, 0, 20, "mV" },
    { "firing-rate", NULL, 0.01, 100, "Hz" },
    { "no-access", NULL, 0, 1, "" },
    { "weak-decades", NULL, 0, 6, "" },
    { "noise-max", NULL, 0, 20, "mV" },
    { "coupling-drift", NULL, 0, 0.99, "" },
    { "network-bursts", NULL, 0, 100, "Hz" },
    { "network-burst-size", NULL, 0, 100, "mV" },
    { "hidden", NULL, 0, 100000, "" },
    { "hidden-size", NULL, 0, 100, "mV" },
    { "crosstalk", NULL, 0, 0.5, "" },
    { "distal", NULL, 0, 1, "" },
  };
  GOptionEntry entries[] = {
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset,
      "Start from a preset: default, or hard (every hard case on; see "
      "docs/simulator.md); the other options change it", "NAME" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Recording to write (Imprint HDF5)", "FILE" },
    { "truth", 't', 0, G_OPTION_ARG_FILENAME, &truth,
      "Ground-truth connections to write (CSV)", "T.csv" },
    { "neurons", 'n', 0, G_OPTION_ARG_STRING, &texts[0],
      describe (keep, "Neurons, one per electrode",
                params.n_neurons, ""),
      "N" },
    { "duration", 'd', 0, G_OPTION_ARG_STRING, &texts[1],
      describe (keep, "Duration", params.duration_s, "s"), "S" },
    { "seed", 's', 0, G_OPTION_ARG_STRING, &texts[2],
      describe (keep, "Random seed", (double) params.seed, ""), "K" },
    { "rate", 0, 0, G_OPTION_ARG_STRING, &texts[3],
      describe (keep, "Sampling rate", params.sample_rate_hz, "Hz"), "HZ" },
    { "connection-prob", 0, 0, G_OPTION_ARG_STRING, &texts[4],
      describe (keep, "Probability of a synapse per ordered pair; 0 for none",
                params.connection_prob, ""),
      "P" },
    { "noise", 0, 0, G_OPTION_ARG_STRING, &texts[5],
      describe (keep, "Recording noise SD", params.noise_mv, "mV"), "MV" },
    { "firing-rate", 0, 0, G_OPTION_ARG_STRING, &texts[6],
      describe (keep, "Mean spontaneous firing rate",
                params.rate_hz, "Hz"),
      "HZ" },
    { "no-access", 0, 0, G_OPTION_ARG_STRING, &texts[7],
      describe (keep, "Fraction of channels without intracellular access",
                params.no_access_frac, ""),
      "F" },
    { "weak-decades", 0, 0, G_OPTION_ARG_STRING, &texts[8],
      describe (keep, "Spread synapse sizes down over this many decades",
                params.weak_decades, ""),
      "D" },
    { "noise-max", 0, 0, G_OPTION_ARG_STRING, &texts[9],
      "Per-channel noise SD drawn from --noise to this (mV; default: all "
      "--noise)", "MV" },
    { "coupling-drift", 0, 0, G_OPTION_ARG_STRING, &texts[10],
      describe (keep, "Slow relative drift of each channel's coupling factor",
                params.scale_drift, ""),
      "F" },
    { "network-bursts", 0, 0, G_OPTION_ARG_STRING, &texts[11],
      describe (keep, "Network bursts per second",
                params.network_burst_hz, "Hz"),
      "HZ" },
    { "network-burst-size", 0, 0, G_OPTION_ARG_STRING, &texts[12],
      describe (keep, "Peak depolarisation of a network burst",
                params.network_burst_mv, "mV"),
      "MV" },
    { "hidden", 0, 0, G_OPTION_ARG_STRING, &texts[13],
      describe (keep, "Unrecorded neurons driving two recorded cells each",
                params.n_hidden, ""),
      "N" },
    { "hidden-size", 0, 0, G_OPTION_ARG_STRING, &texts[14],
      describe (keep, "Mean PSP of a hidden neuron's synapses",
                params.hidden_mv, "mV"),
      "MV" },
    { "crosstalk", 0, 0, G_OPTION_ARG_STRING, &texts[15],
      describe (keep, "Largest zero-latency coupling between neighbouring "
                "electrodes", params.crosstalk, ""),
      "F" },
    { "distal", 0, 0, G_OPTION_ARG_STRING, &texts[16],
      describe (keep, "Fraction of excitatory synapses far out on the "
                "dendrite (PSPs rising in 3 ms and decaying in 30 ms at "
                "the soma)", params.distal_frac, ""),
      "F" },
    { "vary-ahp", 0, 0, G_OPTION_ARG_NONE, &vary_ahp,
      "Give each cell its own after-hyperpolarisation", NULL },
    QUIET_ENTRY (&quiet),
    { NULL }
  };

  neurons_d = params.n_neurons;
  seed_d = (double) params.seed;
  numeric[0].target = &neurons_d;
  numeric[1].target = &params.duration_s;
  numeric[2].target = &seed_d;
  numeric[3].target = &params.sample_rate_hz;
  numeric[4].target = &params.connection_prob;
  numeric[5].target = &params.noise_mv;
  numeric[6].target = &params.rate_hz;
  numeric[7].target = &params.no_access_frac;
  numeric[8].target = &params.weak_decades;
  numeric[9].target = &params.noise_mv_max;
  numeric[10].target = &params.scale_drift;
  numeric[11].target = &params.network_burst_hz;
  numeric[12].target = &params.network_burst_mv;
  numeric[13].target = &hidden_d;
  numeric[14].target = &params.hidden_mv;
  numeric[15].target = &params.crosstalk;
  numeric[16].target = &params.distal_frac;

  context = g_option_context_new ("- simulate a network recording with ground truth");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &exit_code))
    goto out;
  if (preset != NULL && !imp_sim_params_set_preset (&params, preset, &error))
    {
      exit_code = fail (EXIT_USAGE, "--preset: %s", error->message);
      goto out;
    }
  neurons_d = params.n_neurons;
  seed_d = (double) params.seed;
  hidden_d = params.n_hidden;
  if (vary_ahp)
    params.vary_ahp = TRUE;
  if (argc != 1)
    {
      exit_code = fail (EXIT_USAGE, "simulate takes no positional argument: '%s'",
                        argv[1]);
      goto out;
    }
  if (output == NULL)
    {
      exit_code = fail (EXIT_USAGE, "simulate needs --output FILE");
      goto out;
    }
  if (g_str_equal (output, "-"))
    {
      exit_code = fail (EXIT_USAGE, "--output must be a file: an HDF5 "
                        "recording cannot go to standard output");
      goto out;
    }
  if (!check_output ("output", output, NULL, "truth", truth, &exit_code)
      || !check_output ("truth", truth, NULL, "output", output, &exit_code))
    goto out;
  if (!apply_double_options (numeric, G_N_ELEMENTS (numeric), texts, &exit_code))
    goto out;
  if (neurons_d != floor (neurons_d) || seed_d != floor (seed_d)
      || hidden_d != floor (hidden_d))
    {
      exit_code = fail (EXIT_USAGE,
                        "--neurons, --seed and --hidden must be whole numbers");
      goto out;
    }
  params.n_neurons = (guint) neurons_d;
  params.n_hidden = (guint) hidden_d;
  params.seed = (guint64) seed_d;

  g_mutex_init (&progress.lock);
  progress.tty = isatty (STDERR_FILENO);
  progress.last_tenth = -1;
  progress.quiet = quiet;
  if (!imp_simulate (&params, output, output_path (truth), cli_progress_cb,
                     &progress, NULL, &error))
    exit_code = fail (EXIT_FAIL, "simulation failed: %s", error->message);
  cli_progress_finish (&progress);

out:
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_free (texts[i]);
  return exit_code;
}

/* Whether a CSV file's header ends in the truth file's columns (snr and
 * kind); FALSE too when it cannot be read, which the reader reports. */
static gboolean
has_truth_columns (const char *path)
{
  g_autofree char *contents = NULL;
  const char *header;
  gsize len;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  header = contents;
  if (g_str_has_prefix (header, "\xef\xbb\xbf"))
    header += 3;
  len = strcspn (header, "\r\n");
  return (len == strlen (IMP_MAP_TRUTH_CSV_HEADER)
          && strncmp (header, IMP_MAP_TRUTH_CSV_HEADER, len) == 0)
         || (len == strlen (IMP_MAP_TRUTH_QUANTAL_CSV_HEADER)
             && strncmp (header, IMP_MAP_TRUTH_QUANTAL_CSV_HEADER, len) == 0);
}

static int
cmd_score (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autofree char *text = NULL;
  gboolean as_json = FALSE;
  gboolean quiet = FALSE;
  int exit_code = EXIT_OK;
  ImpMapScore score;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL },
    QUIET_ENTRY (&quiet),
    { NULL }
  };

  context = g_option_context_new ("MAP.csv TRUTH.csv - score a map: "
                                  "precision, recall by SNR band and sign, "
                                  "traps called");
  g_option_context_set_description (context,
    "MAP.csv is a map as imprint analyze --csv writes it; TRUTH.csv is a "
    "truth file,\nbest with the snr and kind columns imprint simulate "
    "writes (a plain map is\nread as connections of unknown SNR). When "
    "MAP.csv has the snr and kind columns\nand TRUTH.csv does not, the "
    "two are taken to be swapped and refused.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &exit_code))
    return exit_code;
  if (argc != 3)
    return fail (EXIT_USAGE, "score needs MAP.csv and TRUTH.csv "
                 "(see imprint score --help)");
  if (has_truth_columns (argv[1]) && !has_truth_columns (argv[2]))
    return fail (EXIT_USAGE, "%s has the truth columns (snr, kind) and %s "
                 "has not: the map comes first, then the truth (imprint "
                 "score MAP.csv TRUTH.csv)", argv[1], argv[2]);

  found = imp_map_read_csv (argv[1], &error);
  if (found == NULL)
    return fail (EXIT_FAIL, "%s", error->message);
  truth = imp_map_read_truth_csv (argv[2], &error);
  if (truth == NULL)
    return fail (EXIT_FAIL, "%s", error->message);

  imp_map_score (found, truth, &score);
  text = as_json ? imp_map_score_to_json (&score)
                 : imp_map_score_to_text (&score);
  fputs (text, stdout);
  if (as_json)
    fputc ('\n', stdout);
  return exit_code;
}

static gint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

static int
cmd_pyramid (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpPyramid) pyramid = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *project = NULL;
  CliProgress progress = { 0 };
  gboolean quiet = FALSE;
  gboolean ok;
  int exit_code = EXIT_OK;
  gint64 start, recording_bytes, project_bytes;
  double seconds;
  GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project,
      "Project file to use (default: beside the recording, or in the "
      "cache folder if that is read-only)", "FILE" },
    QUIET_ENTRY (&quiet),
    { NULL }
  };

  context = g_option_context_new ("FILE - build the overview of a recording");
  g_option_context_set_description (context,
    "Builds the level-of-detail overview the Traces view draws from and "
    "saves it in\nthe recording's project file, or finds it there. Prints "
    "one line: where it is,\nits size and how long it took.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &exit_code))
    return exit_code;
  if (argc != 2)
    return fail (EXIT_USAGE, "pyramid needs exactly one recording (try "
                 "imprint pyramid --help)");
  if (project != NULL && g_str_equal (project, "-"))
    return fail (EXIT_USAGE, "--project must be a file: a project file "
                 "cannot go to standard output");
  if (!check_output ("project", project, argv[1], NULL, NULL, &exit_code))
    return exit_code;

  recording = open_recording (argv[1], quiet, &exit_code);
  if (recording == NULL)
    return exit_code;
  pyramid = imp_pyramid_open (recording, project, &error);
  if (pyramid == NULL)
    return fail (EXIT_FAIL, "%s: %s", argv[1], error->message);

  g_mutex_init (&progress.lock);
  progress.tty = isatty (STDERR_FILENO);
  progress.last_tenth = -1;
  progress.quiet = quiet;
  start = g_get_monotonic_time ();
  /* Found complete in the project file: nothing to build. */
  if (imp_pyramid_is_complete (pyramid))
    {
      cli_progress_cb (1.0, "Loading the overview", &progress);
      ok = TRUE;
    }
  else
    ok = imp_pyramid_build (pyramid, cli_progress_cb, &progress, NULL, &error);
  seconds = (g_get_monotonic_time () - start) / 1e6;
  cli_progress_finish (&progress);
  if (!ok && !imp_pyramid_is_complete (pyramid))
    return fail (EXIT_FAIL, "%s: %s", argv[1], error->message);
  if (!ok)
    exit_code = fail (EXIT_FAIL, "%s", error->message);

  recording_bytes = file_size (argv[1]);
  project_bytes = ok ? file_size (imp_pyramid_get_path (pyramid)) : -1;
  printf ("%s: %u levels of %s", imp_pyramid_get_path (pyramid),
          imp_pyramid_get_n_levels (pyramid),
          imp_pyramid_is_int16 (pyramid) ? "int16" : "float32");
  if (project_bytes > 0 && recording_bytes > 0)
    printf (", %.1f MB (%.1f%% of the recording)", project_bytes / 1e6,
            100.0 * project_bytes / recording_bytes);
  if (imp_pyramid_get_samples_read (pyramid) == 0)
    printf (", loaded\n");
  else
    printf (", built in %.2f s (%.0f MB/s)\n", seconds,
            recording_bytes / 1e6 / MAX (seconds, 1e-6));
  return exit_code;
}

int
imp_cli_main (int    argc,
              char **argv)
{
  const char *name;

  g_return_val_if_fail (argc > 1, EXIT_USAGE);

  name = argv[1];
  if (g_str_equal (name, "--help") || g_str_equal (name, "-h"))
    return cmd_help (argc - 1, argv + 1);
  if (g_str_equal (name, "--version"))
    {
      printf ("imprint %s\n", PACKAGE_VERSION);
      return EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      {
        g_autofree char *prgname = g_strdup_printf ("imprint %s", name);

        g_set_prgname (prgname);
        return commands[i].func (argc - 1, argv + 1);
      }

  return fail (EXIT_USAGE, "unknown command '%s' (try imprint --help)", name);
}
