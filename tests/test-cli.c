/* test-cli.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "imp-map.h"

/* The command line is tested as a user meets it: the real executable,
 * real files, exit codes and stderr. */

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

static void
run_imprint (Run        *run,
             const char *first,
             ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *exe = g_getenv ("IMP_EXE");
  const char *arg;
  va_list args;
  int wait_status = 0;

  g_assert_nonnull (exe);
  g_ptr_array_add (argv, (char *) exe);
  va_start (args, first);
  for (arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  memset (run, 0, sizeof *run);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  run->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

/* An error is one line on stderr and a non-zero exit, never a crash. */
static void
assert_clean_failure (Run *run)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (run->err));

  g_assert_cmpint (run->status, >, 0);
  g_assert_cmpstr (trimmed, !=, "");
  g_assert_null (strchr (trimmed, '\n'));
  g_assert_true (g_str_has_prefix (trimmed, "imprint"));
}

static JsonObject *
parse_json_object (const char *text,
                   JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

typedef struct
{
  char *dir;
  char *recording;
  char *truth;
} Fixture;

static void
fixture_simulate (Fixture    *fixture,
                  const char *neurons,
                  const char *duration,
                  const char *seed,
                  const char *connection_prob)
{
  Run run;

  fixture->dir = g_dir_make_tmp ("imprint-cli-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->recording = g_build_filename (fixture->dir, "sim.h5", NULL);
  fixture->truth = g_build_filename (fixture->dir, "truth.csv", NULL);
  if (connection_prob != NULL)
    run_imprint (&run, "simulate", "--output", fixture->recording,
                 "--neurons", neurons, "--duration", duration, "--seed", seed,
                 "--truth", fixture->truth, "--connection-prob", connection_prob,
                 "-q", NULL);
  else
    run_imprint (&run, "simulate", "--output", fixture->recording,
                 "--neurons", neurons, "--duration", duration, "--seed", seed,
                 "--truth", fixture->truth, "-q", NULL);
  if (run.status != 0)
    g_test_message ("simulate stderr: %s", run.err);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
}

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_clear (Fixture *fixture)
{
  rm_rf (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->recording, g_free);
  g_clear_pointer (&fixture->truth, g_free);
}

/* score: a hard simulation's truth against itself and against an empty
 * map, text and JSON; bad input fails cleanly. */
static void
test_score (void)
{
  Fixture fixture = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *empty = NULL;
  g_autofree char *self = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GArray) connections = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *o;
  Run run;

  fixture.dir = g_dir_make_tmp ("imprint-cli-XXXXXX", NULL);
  g_assert_nonnull (fixture.dir);
  fixture.recording = g_build_filename (fixture.dir, "sim.h5", NULL);
  fixture.truth = g_build_filename (fixture.dir, "truth.csv", NULL);
  run_imprint (&run, "simulate", "--preset", "hard", "--neurons", "16",
               "--duration", "5", "--output", fixture.recording, "--truth",
               fixture.truth, "-q", NULL);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);

  /* The truth's own connections score perfectly; its traps stay out. */
  self = g_build_filename (fixture.dir, "self.csv", NULL);
  empty = g_build_filename (fixture.dir, "empty.csv", NULL);
  g_assert_true (g_file_set_contents (empty, "pre,post,pre_label,post_label,"
                                      "sign,amplitude_mv,latency_ms,p_value,"
                                      "n_pre_aps\n", -1, NULL));
  run_imprint (&run, "score", "--json", fixture.truth, fixture.truth, NULL);
  g_assert_cmpint (run.status, ==, 0);
  o = parse_json_object (run.out, parser);
  g_assert_cmpfloat (json_object_get_double_member (o, "precision"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (o, "recall"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "traps_called"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "n_traps"), >, 0);
  run_clear (&run);

  run_imprint (&run, "score", empty, fixture.truth, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "recall           0.000"));
  g_assert_nonnull (strstr (run.out, "traps called     0 of"));
  run_clear (&run);

  /* Swapped: the first file has the truth columns, the second has not.
   * A plain map in the truth's place is still read when the map comes
   * first. */
  run_imprint (&run, "score", fixture.truth, empty, NULL);
  assert_clean_failure (&run);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_nonnull (strstr (run.err, "truth"));
  run_clear (&run);
  connections = imp_map_read_csv (fixture.truth, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (connections->len, >, 0);
  plain = g_build_filename (fixture.dir, "plain.csv", NULL);
  g_assert_true (imp_map_write_csv (connections, plain, &error));
  g_assert_no_error (error);
  run_imprint (&run, "score", "-q", empty, plain, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  expected = g_strdup_printf ("recall           0.000 (0 of %u true)",
                              connections->len);
  g_assert_nonnull (strstr (run.out, expected));
  run_clear (&run);

  run_imprint (&run, "score", empty, NULL);
  assert_clean_failure (&run);
  run_clear (&run);
  run_imprint (&run, "score", fixture.recording, fixture.truth, NULL);
  assert_clean_failure (&run);
  run_clear (&run);
  run_imprint (&run, "simulate", "--preset", "easy", "--output", self, NULL);
  assert_clean_failure (&run);
  run_clear (&run);
  run_imprint (&run, "analyze", "--psc-window", "0", fixture.recording, NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  fixture_clear (&fixture);
}

/* info --json on a simulation must report what we asked the simulator for. */
static void
test_info_simulated (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  Fixture fixture = { 0 };
  JsonObject *info;
  JsonArray *channels, *sweeps;
  Run run;

  fixture_simulate (&fixture, "9", "3", "5", NULL);
  run_imprint (&run, "info", "--json", fixture.recording, NULL);
  g_assert_cmpint (run.status, ==, 0);

  info = parse_json_object (run.out, parser);
  g_assert_true (json_object_has_member (info, "format"));
  g_assert_cmpfloat (json_object_get_double_member (info, "sample_rate_hz"),
                     ==, 10000.0);
  g_assert_cmpint (json_object_get_int_member (info, "samples_per_channel"),
                   ==, 30000);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (info,
                                                                 "duration_s"),
                                  3.0, 1e-9);
  channels = json_object_get_array_member (info, "channels");
  g_assert_cmpuint (json_array_get_length (channels), ==, 9);
  for (guint i = 0; i < 9; i++)
    {
      JsonObject *channel = json_array_get_object_element (channels, i);

      g_assert_cmpint (json_object_get_int_member (channel, "index"), ==, i);
      g_assert_cmpstr (json_object_get_string_member (channel, "unit"), ==, "mV");
      g_assert_true (json_object_has_member (channel, "label"));
    }
  sweeps = json_object_get_array_member (info, "sweeps");
  g_assert_cmpuint (json_array_get_length (sweeps), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (sweeps, 0),
                                               "samples"), ==, 30000);
  /* a simulated file needs no repair: the warning is there, and null */
  g_assert_true (json_object_has_member (info, "warning"));
  g_assert_true (json_object_get_null_member (info, "warning"));

  run_clear (&run);
  fixture_clear (&fixture);
}

static GArray *
analyze_to_map (Fixture    *fixture,
                JsonParser *parser,
                JsonObject **summary)
{
  g_autofree char *csv = g_build_filename (fixture->dir, "map.csv", NULL);
  g_autofree char *json = g_build_filename (fixture->dir, "summary.json", NULL);
  g_autofree char *json_text = NULL;
  g_autofree char *csv_text = NULL;
  g_autoptr(GError) error = NULL;
  GArray *map;
  Run run;

  run_imprint (&run, "analyze", fixture->recording, "--csv", csv,
               "--json", json, NULL);
  if (run.status != 0)
    g_test_message ("analyze stderr: %s", run.err);
  g_assert_cmpint (run.status, ==, 0);
  /* Progress goes to stderr, the stage names with it. */
  g_assert_nonnull (strstr (run.err, "%"));
  run_clear (&run);

  g_assert_true (g_file_get_contents (csv, &csv_text, NULL, NULL));
  /* with the quantal columns when some connection has quanta */
  g_assert_true (g_str_has_prefix (csv_text, IMP_MAP_CSV_HEADER "\n")
                 || g_str_has_prefix (csv_text,
                                      IMP_MAP_CSV_QUANTAL_HEADER "\n"));

  map = imp_map_read_csv (csv, &error);
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (json, &json_text, NULL, NULL));
  *summary = parse_json_object (json_text, parser);
  g_assert_cmpint (json_object_get_int_member (*summary, "connections"),
                   ==, map->len);
  return map;
}

/* Scores analyze against the simulator's ground truth. The truth's
 * strong connections (mean PSP at least 1 mV with 30 or more presynaptic
 * APs) must all be found; precision must be high. */
static void
test_analyze_simulated (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GArray) strong = imp_map_new ();
  g_autoptr(GArray) map = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *summary;
  JsonArray *aps;
  ImpMapScore score, strong_score;
  Fixture fixture = { 0 };

  fixture_simulate (&fixture, "16", "60", "11", NULL);
  truth = imp_map_read_csv (fixture.truth, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (truth->len, >, 0);

  map = analyze_to_map (&fixture, parser, &summary);
  g_assert_cmpint (json_object_get_int_member (summary, "channels"), ==, 16);
  g_assert_cmpfloat (json_object_get_double_member (summary, "sample_rate_hz"),
                     ==, 10000.0);
  aps = json_object_get_array_member (summary, "aps_per_channel");
  g_assert_cmpuint (json_array_get_length (aps), ==, 16);

  imp_map_score (map, truth, &score);
  for (guint i = 0; i < truth->len; i++)
    {
      ImpMapEntry *entry = &g_array_index (truth, ImpMapEntry, i);

      if (fabs (entry->amplitude_mv) >= 1.0 && entry->n_pre_aps >= 30)
        {
          ImpMapEntry copy = *entry;

          copy.pre_label = g_strdup (entry->pre_label);
          copy.post_label = g_strdup (entry->post_label);
          g_array_append_val (strong, copy);
        }
    }
  imp_map_score (map, strong, &strong_score);
  g_test_message ("simulated 16 neurons: %u true, %u found; precision %.3f, "
                  "recall %.3f; strong (%u): recall %.3f",
                  truth->len, map->len, score.precision, score.recall,
                  strong->len, strong_score.recall);
  g_assert_cmpfloat (score.precision, >=, 0.9);
  g_assert_cmpfloat (strong_score.recall, >=, 0.9);
  g_assert_cmpuint (score.sign_errors, ==, 0);

  fixture_clear (&fixture);
}

/* A network without synapses: nothing may be found. */
static void
test_analyze_null_network (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GArray) map = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *summary;
  Fixture fixture = { 0 };

  fixture_simulate (&fixture, "16", "60", "23", "0");
  truth = imp_map_read_csv (fixture.truth, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (truth->len, ==, 0);

  map = analyze_to_map (&fixture, parser, &summary);
  g_assert_cmpuint (map->len, ==, 0);
  fixture_clear (&fixture);
}

static void
test_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("imprint-cli-XXXXXX", NULL);
  g_autofree char *garbage = g_build_filename (dir, "garbage.abf", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.h5", NULL);
  g_autofree char *out = g_build_filename (dir, "out.h5", NULL);
  Run run;

  g_assert_true (g_file_set_contents (garbage, "this is not a recording\n",
                                      -1, NULL));
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));

  run_imprint (&run, "info", "/nonexistent/file.h5", NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "info", garbage, NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "analyze", empty, NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "info", NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "simulate", "--neurons", "4", NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "simulate", "--output", out, "--neurons", "many", NULL);
  assert_clean_failure (&run);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  run_clear (&run);

  run_imprint (&run, "simulate", "--output", out, "--duration", "-3", NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "simulate", "--output", out, "--duration", "0x10", NULL);
  assert_clean_failure (&run);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  run_clear (&run);

  run_imprint (&run, "analyze", garbage, "--alpha", "0,01", NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "info", "--frobnicate", garbage, NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  g_unlink (garbage);
  g_unlink (empty);
  g_rmdir (dir);
}

/* --max-candidates: a whole number, checked before any work, stored with
 * the results, and at most that many candidates that are not
 * significant. */
static void
test_max_candidates_option (void)
{
  const char *bad[] = { "-1", "2.5", "many", "5e9" };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *summary;
  JsonArray *candidates;
  Fixture fixture = { 0 };
  guint i, n_others = 0;
  Run run;

  fixture_simulate (&fixture, "16", "60", "11", NULL);
  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      run_imprint (&run, "analyze", fixture.recording, "--max-candidates",
                   bad[i], NULL);
      assert_clean_failure (&run);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_nonnull (strstr (run.err, "--max-candidates"));
      run_clear (&run);
    }
  /* nor is a count of surrogates cut to a whole number */
  run_imprint (&run, "analyze", fixture.recording, "--surrogates", "20.5",
               NULL);
  assert_clean_failure (&run);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--surrogates"));
  run_clear (&run);

  run_imprint (&run, "analyze", fixture.recording, "-q", "--json", "-",
               "--max-candidates", "1", NULL);
  g_assert_cmpint (run.status, ==, 0);
  summary = parse_json_object (run.out, parser);
  g_assert_cmpint (json_object_get_int_member (
                     json_object_get_object_member (summary, "parameters"),
                     "max_candidates"), ==, 1);
  candidates = json_object_get_array_member (summary, "candidates");
  for (i = 0; i < json_array_get_length (candidates); i++)
    {
      JsonObject *c = json_array_get_object_element (candidates, i);

      n_others += json_object_get_double_member (c, "p_value") > 0.001
                  && json_object_get_double_member (c, "ap_ap_p_value")
                     > 0.001;
    }
  g_assert_cmpuint (n_others, <=, 1);
  run_clear (&run);
  fixture_clear (&fixture);
}

/* The onset test's threshold and the simulator's distal synapses: bad
 * values are refused before any work, naming the option; the threshold
 * is stored with the results, and every candidate says whether the test
 * withdrew it. */
static void
test_onset_options (void)
{
  const char *bad[][3] = {
    { "analyze", "--spread-z", "0" },
    { "analyze", "--spread-z", "-1" },
    { "analyze", "--spread-z", "nan" },
    { "analyze", "--spread-z", "1e9" },
    { "analyze", "--spread-z", "3,5" },
    { "simulate", "--distal", "-0.1" },
    { "simulate", "--distal", "1.5" },
    { "simulate", "--distal", "x" },
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL;
  JsonObject *summary;
  JsonArray *candidates;
  Fixture fixture = { 0 };
  guint i;
  Run run;

  fixture_simulate (&fixture, "16", "30", "5", NULL);
  out = g_build_filename (fixture.dir, "distal.h5", NULL);
  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      if (g_str_equal (bad[i][0], "analyze"))
        run_imprint (&run, "analyze", fixture.recording, bad[i][1],
                     bad[i][2], NULL);
      else
        run_imprint (&run, "simulate", "--output", out, bad[i][1], bad[i][2],
                     NULL);
      assert_clean_failure (&run);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_nonnull (strstr (run.err, bad[i][1]));
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
      run_clear (&run);
    }

  run_imprint (&run, "analyze", fixture.recording, "-q", "--json", "-",
               "--spread-z", "2.5", NULL);
  g_assert_cmpint (run.status, ==, 0);
  summary = parse_json_object (run.out, parser);
  g_assert_cmpfloat (json_object_get_double_member
                       (json_object_get_object_member (summary,
                                                       "parameters"),
                        "spread_z"), ==, 2.5);
  candidates = json_object_get_array_member (summary, "candidates");
  g_assert_cmpuint (json_array_get_length (candidates), >, 0);
  for (i = 0; i < json_array_get_length (candidates); i++)
    {
      JsonObject *c = json_array_get_object_element (candidates, i);
      JsonNode *z = json_object_get_member (c, "spread_z");
      gboolean poly = json_object_get_boolean_member (c, "polysynaptic");

      g_assert_nonnull (z);
      g_assert_true (json_object_has_member (c, "polysynaptic"));
      /* withdrawn exactly at the threshold given, and never significant */
      if (JSON_NODE_HOLDS_NULL (z))
        g_assert_false (poly);
      else
        g_assert_true (poly == (json_node_get_double (z) >= 2.5));
      if (poly)
        g_assert_false (json_object_get_boolean_member (c, "significant"));
    }
  run_clear (&run);
  fixture_clear (&fixture);
}

/* The quantal fit's options: checked before any work, stored with the
 * results; the map's quantal columns hold what the summary claims. */
static void
test_quantal_options (void)
{
  const char *bad[][2] = {
    { "--quantal-n-max", "0" },
    { "--quantal-n-max", "21" },
    { "--quantal-n-max", "2.5" },
    { "--quantal-min-trials", "19" },
    { "--quantal-bootstrap", "-1" },
    { "--quantal-bootstrap", "many" },
    { "--quantal-seed", "1e10" },
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) map = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *csv = NULL;
  JsonObject *summary, *params;
  JsonArray *connections;
  Fixture fixture = { 0 };
  guint i, claimed = 0, with_columns = 0;
  Run run;

  fixture_simulate (&fixture, "16", "60", "11", NULL);
  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      run_imprint (&run, "analyze", fixture.recording, bad[i][0], bad[i][1],
                   NULL);
      assert_clean_failure (&run);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_nonnull (strstr (run.err, bad[i][0]));
      run_clear (&run);
    }

  csv = g_build_filename (fixture.dir, "quantal.csv", NULL);
  run_imprint (&run, "analyze", fixture.recording, "-q", "--csv", csv,
               "--json", "-", "--quantal-n-max", "6", "--quantal-min-trials",
               "40", "--quantal-bootstrap", "20", "--quantal-seed", "7", NULL);
  g_assert_cmpint (run.status, ==, 0);
  summary = parse_json_object (run.out, parser);
  params = json_object_get_object_member
             (json_object_get_object_member (summary, "parameters"),
              "quantal");
  g_assert_cmpint (json_object_get_int_member (params, "n_max"), ==, 6);
  g_assert_cmpint (json_object_get_int_member (params, "min_trials"), ==, 40);
  g_assert_cmpint (json_object_get_int_member (params, "n_bootstrap"), ==, 20);
  g_assert_cmpint (json_object_get_int_member (params, "seed"), ==, 7);

  map = imp_map_read_csv (csv, &error);
  g_assert_no_error (error);
  connections = json_object_get_array_member (summary, "connections_list");
  g_assert_cmpuint (json_array_get_length (connections), ==, map->len);
  for (i = 0; i < map->len; i++)
    {
      JsonObject *q = json_object_get_object_member
                        (json_array_get_object_element (connections, i),
                         "quantal");
      const ImpMapEntry *e = &g_array_index (map, ImpMapEntry, i);
      const char *verdict = json_object_get_string_member (q, "verdict");

      g_assert_cmpuint (json_object_get_int_member (q, "n"), <=, 6);
      if (g_str_equal (verdict, "quanta"))
        {
          claimed++;
          g_assert_true (json_object_get_boolean_member (q, "claimed"));
          g_assert_cmpint (json_object_get_int_member (q, "n_bootstrap"), ==,
                           20);
          g_assert_cmpuint (e->quantal_n, ==,
                            json_object_get_int_member (q, "n"));
          g_assert_cmpfloat (fabs (e->quantal_mv
                                   - json_object_get_double_member (q, "q_mv")),
                             <=, 0.5e-4);
        }
      else
        {
          g_assert_cmpuint (e->quantal_n, ==, 0);
          g_assert_true (g_str_has_prefix
                           (json_object_get_string_member (q, "reason"),
                            "No quanta claimed"));
        }
      with_columns += e->quantal_n > 0;
    }
  g_test_message ("%u of %u connections with quanta", claimed, map->len);
  g_assert_cmpuint (with_columns, ==, claimed);
  run_clear (&run);
  fixture_clear (&fixture);
}

/* Outputs that would destroy the input are refused before any work, and
 * "-" writes to standard output. */
static void
test_outputs (void)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *other = NULL;
  gsize before_len = 0, after_len = 0;
  Fixture fixture = { 0 };
  Run run;

  fixture_simulate (&fixture, "4", "1", "3", NULL);
  g_assert_true (g_file_get_contents (fixture.recording, &before, &before_len, NULL));

  run_imprint (&run, "analyze", fixture.recording, "--csv", fixture.recording, NULL);
  assert_clean_failure (&run);
  g_assert_cmpint (run.status, ==, 2);
  run_clear (&run);

  other = g_build_filename (fixture.dir, ".", "sim.h5", NULL);
  run_imprint (&run, "analyze", fixture.recording, "--json", other, NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  g_assert_true (g_file_get_contents (fixture.recording, &after, &after_len, NULL));
  g_assert_cmpuint (before_len, ==, after_len);
  g_assert_true (memcmp (before, after, before_len) == 0);

  run_imprint (&run, "simulate", "--output", fixture.truth, "--truth", fixture.truth,
               NULL);
  assert_clean_failure (&run);
  run_clear (&run);

  run_imprint (&run, "analyze", fixture.recording, "-q", "--csv", "-", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, IMP_MAP_CSV_HEADER));
  run_clear (&run);

  run_imprint (&run, "analyse", NULL);
  assert_clean_failure (&run);
  g_assert_nonnull (strstr (run.err, "unknown command"));
  run_clear (&run);

  fixture_clear (&fixture);
}

/* -q is an option of every command, with the same help. */
static void
test_quiet_everywhere (void)
{
  const char *names[] = { "info", "analyze", "simulate", "score", "pyramid",
                          "activity" };
  g_auto(GStrv) lines = NULL;
  Fixture fixture = { 0 };
  Run run;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *quiet;

      run_imprint (&run, names[i], "--help", NULL);
      quiet = strstr (run.out, "-q, --quiet ");

      g_assert_cmpint (run.status, ==, 0);
      g_assert_nonnull (quiet);
      quiet += strlen ("-q, --quiet ");
      quiet += strspn (quiet, " ");
      g_assert_true (g_str_has_prefix (quiet, "No progress and no warnings "
                                              "on stderr"));
      run_clear (&run);
    }

  fixture_simulate (&fixture, "4", "1", "3", NULL);
  run_imprint (&run, "info", fixture.recording, "-q", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_nonnull (strstr (run.out, "Channels:    4"));
  run_clear (&run);
  run_imprint (&run, "activity", "--quiet", fixture.recording, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  /* the header and one row per channel */
  lines = g_strsplit (run.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  run_clear (&run);
  /* a window that starts after the end says so, not "--to" */
  run_imprint (&run, "activity", "--from", "40", fixture.recording, NULL);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--from 40 s is not before the "
                                     "recording's end (1 s)"));
  run_clear (&run);
  fixture_clear (&fixture);
}

/* A second run finds the overview in the project file: it says it loads
 * it, not that it builds it. */
static void
test_pyramid_loaded (void)
{
  Fixture fixture = { 0 };
  Run run;

  fixture_simulate (&fixture, "4", "2", "3", NULL);
  run_imprint (&run, "pyramid", fixture.recording, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, "Building the overview"));
  g_assert_nonnull (strstr (run.out, ", built in"));
  run_clear (&run);

  run_imprint (&run, "pyramid", fixture.recording, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, ", loaded"));
  g_assert_null (strstr (run.err, "Building"));
  g_assert_nonnull (strstr (run.err, "Loading the overview"));
  run_clear (&run);

  run_imprint (&run, "pyramid", "-q", fixture.recording, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  run_clear (&run);
  fixture_clear (&fixture);
}

static char *
shared_file (const char *relative)
{
  const char *root = g_getenv ("IMP_SHARED_DATA");
  char *path;

  if (root == NULL)
    return NULL;
  path = g_build_filename (root, relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&path, g_free);
  return path;
}

/* The HEKA multipatch file: cell 2 (channel index 1, "Vmon-2") is the one
 * stimulated to fire 1-2 APs in each of the 12 sweeps (PROVENANCE.md). */
static void
test_multipatch (void)
{
  g_autofree char *path = shared_file ("real/multipatch/190604s1c2r1.dat");
  g_autofree char *dir = NULL;
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *summary, *info;
  JsonArray *aps;
  gint64 stimulated, most_other = 0;
  Run run;

  if (path == NULL)
    {
      g_test_skip ("shared data not available");
      return;
    }

  run_imprint (&run, "info", "--json", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  info = parse_json_object (run.out, parser);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (info,
                                                                          "channels")),
                    ==, 8);
  g_assert_cmpfloat (json_object_get_double_member (info, "sample_rate_hz"),
                     ==, 25000.0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (info,
                                                                          "sweeps")),
                    ==, 12);
  run_clear (&run);

  dir = g_dir_make_tmp ("imprint-cli-XXXXXX", NULL);
  json = g_build_filename (dir, "summary.json", NULL);
  run_imprint (&run, "analyze", path, "--json", json, NULL);
  g_assert_cmpint (run.status, ==, 0);
  /* the two strong responses are stimulus transients (docs/accuracy.md),
   * and the summary says that they were withdrawn */
  g_assert_nonnull (strstr (run.err, "\n0 connections by AP→PSP"));
  g_assert_nonnull (strstr (run.err,
                            "\nwithdrawn at p ≤ 0.001: 2 artefacts\n"));
  run_clear (&run);

  g_assert_true (g_file_get_contents (json, &text, NULL, NULL));
  summary = parse_json_object (text, parser);
  aps = json_object_get_array_member (summary, "aps_per_channel");
  g_assert_cmpuint (json_array_get_length (aps), ==, 8);
  stimulated = json_array_get_int_element (aps, 1);
  for (guint i = 0; i < 8; i++)
    if (i != 1)
      most_other = MAX (most_other, json_array_get_int_element (aps, i));
  g_test_message ("APs on the stimulated cell: %" G_GINT64_FORMAT
                  ", most on another: %" G_GINT64_FORMAT, stimulated, most_other);
  g_assert_cmpint (stimulated, >=, 12);
  g_assert_cmpint (stimulated, <=, 24);
  g_assert_cmpint (stimulated, >, most_other);

  g_unlink (json);
  g_rmdir (dir);
}

/* libbiosig reads this ABF 2 file's episodic sweeps as one: the reader
 * warns (PROVENANCE.md). -q keeps warnings off stderr; without it they
 * are there. */
static void
test_quiet_warnings (void)
{
  g_autofree char *path = shared_file ("real/abf/opto_aps_good_units.abf");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *dir = NULL;
  g_autofree char *json = NULL;
  JsonObject *info, *recording;
  Run run;

  if (path == NULL)
    {
      g_test_skip ("shared data not available");
      return;
    }

  run_imprint (&run, "info", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, "imprint: warning: "));
  run_clear (&run);

  run_imprint (&run, "analyze", path, "-q", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  run_clear (&run);

  /* The warning is still in the JSON. */
  run_imprint (&run, "info", "--json", "-q", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  info = parse_json_object (run.out, parser);
  g_assert_nonnull (strstr (json_object_get_string_member (info, "warning"),
                            "episodic"));
  run_clear (&run);

  /* And in the analysis summary, with the recording it is about. */
  dir = g_dir_make_tmp ("imprint-cli-XXXXXX", NULL);
  json = g_build_filename (dir, "summary.json", NULL);
  run_imprint (&run, "analyze", "-q", "--json", json, path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_true (json_parser_load_from_file (parser, json, NULL));
  recording = json_object_get_object_member (
    json_node_get_object (json_parser_get_root (parser)), "recording");
  g_assert_nonnull (strstr (json_object_get_string_member (recording,
                                                           "warning"),
                            "episodic"));
  run_clear (&run);
  g_unlink (json);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imp/Cli/info-simulated", test_info_simulated);
  g_test_add_func ("/imp/Cli/score", test_score);
  g_test_add_func ("/imp/Cli/analyze-simulated", test_analyze_simulated);
  g_test_add_func ("/imp/Cli/analyze-null-network", test_analyze_null_network);
  g_test_add_func ("/imp/Cli/errors", test_errors);
  g_test_add_func ("/imp/Cli/quantal-options", test_quantal_options);
  g_test_add_func ("/imp/Cli/onset-options", test_onset_options);
  g_test_add_func ("/imp/Cli/max-candidates", test_max_candidates_option);
  g_test_add_func ("/imp/Cli/outputs", test_outputs);
  g_test_add_func ("/imp/Cli/multipatch", test_multipatch);
  g_test_add_func ("/imp/Cli/quiet-everywhere", test_quiet_everywhere);
  g_test_add_func ("/imp/Cli/pyramid-loaded", test_pyramid_loaded);
  g_test_add_func ("/imp/Cli/quiet-warnings", test_quiet_warnings);

  return g_test_run ();
}
