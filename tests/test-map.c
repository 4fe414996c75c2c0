/* test-map.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>

#include "imp-map.h"

static void
add_entry (GArray     *map,
           guint       pre,
           guint       post,
           const char *pre_label,
           const char *post_label,
           char        sign,
           double      amplitude,
           double      latency,
           double      p_value,
           guint       n_pre_aps)
{
  ImpMapEntry e = { 0 };

  e.pre = pre;
  e.post = post;
  e.pre_label = g_strdup (pre_label);
  e.post_label = g_strdup (post_label);
  e.sign = sign;
  e.amplitude_mv = amplitude;
  e.latency_ms = latency;
  e.p_value = p_value;
  e.n_pre_aps = n_pre_aps;
  g_array_append_val (map, e);
}

static char *
temp_path (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("imp-test-map-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

static void
remove_temp (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_roundtrip (void)
{
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("MAP.csv");
  g_autofree char *text = NULL;
  guint i;

  add_entry (map, 0, 1, "A1", "A2", 'E', 1.25, 2.5, 1e-12, 60);
  add_entry (map, 3, 2, "cell, left", "say \"hi\"", 'I', -0.1, 4.0 / 3.0,
             0.0, 7);
  add_entry (map, 4000000000u, 5, "", "x", 'E', 123456.789e-30, 0.1, 0.5, 0);

  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, IMP_MAP_CSV_HEADER "\n"));
  /* Labels with commas and quotes are quoted; simple ones are not. */
  g_assert_nonnull (strstr (text, "\n0,1,A1,A2,E,1.25,2.5,1e-12,60\n"));
  g_assert_nonnull (strstr (text, ",\"cell, left\",\"say \"\"hi\"\"\",I,"));

  back = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, map->len);
  for (i = 0; i < map->len; i++)
    {
      ImpMapEntry *a = &g_array_index (map, ImpMapEntry, i);
      ImpMapEntry *b = &g_array_index (back, ImpMapEntry, i);

      g_assert_cmpuint (a->pre, ==, b->pre);
      g_assert_cmpuint (a->post, ==, b->post);
      g_assert_cmpstr (a->pre_label, ==, b->pre_label);
      g_assert_cmpstr (a->post_label, ==, b->post_label);
      g_assert_cmpint (a->sign, ==, b->sign);
      /* Exact: numbers are written with enough digits to read back. */
      g_assert_true (a->amplitude_mv == b->amplitude_mv);
      g_assert_true (a->latency_ms == b->latency_ms);
      g_assert_true (a->p_value == b->p_value);
      g_assert_cmpuint (a->n_pre_aps, ==, b->n_pre_aps);
    }

  remove_temp (path);
}

/* A comma-decimal locale must not change what is written or read. */
static void
test_locale (void)
{
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("MAP.csv");
  g_autofree char *text = NULL;
  const char *locales[] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", NULL };
  g_autofree char *old = g_strdup (setlocale (LC_NUMERIC, NULL));
  gboolean switched = FALSE;
  guint i;

  for (i = 0; locales[i] != NULL && !switched; i++)
    switched = setlocale (LC_NUMERIC, locales[i]) != NULL;
  if (!switched)
    g_test_message ("no comma-decimal locale installed; checking in C");

  add_entry (map, 1, 2, "a", "b", 'I', -0.75, 1.5, 0.001, 3);
  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "1,2,a,b,I,-0.75,1.5,0.001,3\n"));

  back = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (g_array_index (back, ImpMapEntry, 0).amplitude_mv, ==,
                     -0.75);

  setlocale (LC_NUMERIC, old);
  remove_temp (path);
}

static void
expect_invalid (const char *contents)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("bad.csv");
  GArray *map;

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  map = imp_map_read_csv (path, &error);
  g_assert_null (map);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  remove_temp (path);
}

static void
test_malformed (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("named.csv");
  GArray *map;

  /* the message names the field and its text */
  g_assert_true (g_file_set_contents (path, IMP_MAP_CSV_HEADER
                                      "\n1,2,a,b,E,1,1,1e999,3\n", -1,
                                      NULL));
  g_assert_null (imp_map_read_csv (path, &error));
  g_assert_nonnull (strstr (error->message, ":2: p_value “1e999”"));
  g_clear_error (&error);
  remove_temp (path);

  expect_invalid ("");
  expect_invalid ("pre,post\n1,2\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,X,1,1,0,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,1,0\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,one,1,0,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n-1,2,a,b,E,1,1,0,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,\"a,b,E,1,1,0,3\n");
  /* numbers that parse but cannot be: a p-value outside [0, 1] or not a
   * number, an infinite amplitude, a negative latency, a cell connected
   * to itself */
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,1,1.5,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,1,nan,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,1,-0.5,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,inf,1,0,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,-3,0,3\n");
  /* no latency is an empty field; "nan" is no number of ms */
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,nan,0,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,NaN,0,3\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n2,2,a,b,E,1,1,0,3\n");

  map = imp_map_read_csv ("/nonexistent/imp/MAP.csv", &error);
  g_assert_null (map);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

/* Strong connections have p-values below the smallest normal double:
 * written as subnormals, they read back as the same value; what
 * underflows to 0 reads as 0; what overflows is refused. (A 19-minute
 * array's map could not be scored because of the first.) */
static void
test_tiny_p (void)
{
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("tiny.csv");
  g_autofree char *zero = temp_path ("underflow.csv");
  double subnormal = 2.63613680142073e-309;

  g_assert_cmpint (fpclassify (subnormal), ==, FP_SUBNORMAL);
  add_entry (map, 0, 1, "A1", "A2", 'E', 1.25, 2.5, subnormal, 60);
  add_entry (map, 1, 0, "A2", "A1", 'E', 1.25, 2.5, 5e-324, 60);
  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_no_error (error);
  back = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 2);
  g_assert_cmpfloat (g_array_index (back, ImpMapEntry, 0).p_value, ==,
                     subnormal);
  g_assert_cmpfloat (g_array_index (back, ImpMapEntry, 1).p_value, ==,
                     5e-324);
  remove_temp (path);
  g_clear_pointer (&back, g_array_unref);

  g_assert_true (g_file_set_contents (zero, IMP_MAP_CSV_HEADER
                                      "\n1,2,a,b,E,1,1,1e-400,3\n", -1,
                                      NULL));
  back = imp_map_read_csv (zero, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (g_array_index (back, ImpMapEntry, 0).p_value, ==, 0);
  remove_temp (zero);

  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1e999,1,0,3\n");
}

/* A connection without a latency estimate (NAN) has an empty field, and
 * reads back as NAN; an empty amplitude is still refused. */
static void
test_no_latency (void)
{
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("latency.csv");
  g_autofree char *text = NULL;

  add_entry (map, 0, 1, "A1", "A2", 'E', 1.25, NAN, 1e-12, 60);
  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, IMP_MAP_CSV_HEADER "\n"
                             "0,1,A1,A2,E,1.25,,1e-12,60\n");
  back = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (g_array_index (back, ImpMapEntry, 0).latency_ms));
  remove_temp (path);

  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,,1,0,3\n");
}

/* Maps with quantal parameters get three more columns, empty where a row
 * has none; maps without are written as before, and both read back. */
static void
test_quantal_columns (void)
{
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("quantal.csv");
  g_autofree char *text = NULL;
  ImpMapEntry *e;

  add_entry (map, 0, 1, "A1", "A2", 'E', 1.25, 2.5, 1e-12, 60);
  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, IMP_MAP_CSV_HEADER "\n"
                             "0,1,A1,A2,E,1.25,2.5,1e-12,60\n");
  g_clear_pointer (&text, g_free);

  add_entry (map, 2, 3, "B1", "B2", 'I', -0.5, 1.5, 0.001, 20);
  e = &g_array_index (map, ImpMapEntry, 1);
  e->quantal_mv = 0.25;
  e->quantal_n = 4;
  e->release_p = 0.5;
  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, IMP_MAP_CSV_QUANTAL_HEADER "\n"
                             "0,1,A1,A2,E,1.25,2.5,1e-12,60,,,\n"
                             "2,3,B1,B2,I,-0.5,1.5,0.001,20,0.25,4,0.5\n");

  back = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 2);
  e = &g_array_index (back, ImpMapEntry, 0);
  g_assert_cmpuint (e->quantal_n, ==, 0);
  g_assert_true (isnan (e->quantal_mv) && isnan (e->release_p));
  g_assert_cmpuint (e->n_pre_aps, ==, 60);
  e = &g_array_index (back, ImpMapEntry, 1);
  g_assert_cmpfloat (e->quantal_mv, ==, 0.25);
  g_assert_cmpuint (e->quantal_n, ==, 4);
  g_assert_cmpfloat (e->release_p, ==, 0.5);
  g_assert_cmpfloat (e->amplitude_mv, ==, -0.5);
  remove_temp (path);

  /* a quantal header needs twelve fields, and numbers in them */
  expect_invalid (IMP_MAP_CSV_QUANTAL_HEADER "\n1,2,a,b,E,1,1,0,3\n");
  expect_invalid (IMP_MAP_CSV_QUANTAL_HEADER "\n1,2,a,b,E,1,1,0,3,x,2,0.5\n");
  expect_invalid (IMP_MAP_CSV_QUANTAL_HEADER "\n1,2,a,b,E,1,1,0,3,1,-2,0.5\n");
  expect_invalid (IMP_MAP_CSV_HEADER "\n1,2,a,b,E,1,1,0,3,0.2,2,0.5\n");
}

static void
test_crlf_and_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("crlf.csv");
  g_autoptr(GArray) map = NULL;

  g_assert_true (g_file_set_contents (path,
                                      IMP_MAP_CSV_HEADER "\r\n"
                                      "5,6,c5,c6,E,2,3,0.5,10\r\n\r\n",
                                      -1, NULL));
  map = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (map->len, ==, 1);
  g_assert_cmpuint (g_array_index (map, ImpMapEntry, 0).n_pre_aps, ==, 10);
  g_assert_cmpstr (g_array_index (map, ImpMapEntry, 0).post_label, ==, "c6");
  g_clear_pointer (&map, g_array_unref);

  g_assert_true (g_file_set_contents (path, IMP_MAP_CSV_HEADER, -1, NULL));
  map = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (map->len, ==, 0);
  remove_temp (path);
}

static void
test_score (void)
{
  g_autoptr(GArray) truth = imp_map_new ();
  g_autoptr(GArray) found = imp_map_new ();
  g_autoptr(GArray) empty = imp_map_new ();
  ImpMapScore score;

  add_entry (truth, 0, 1, "", "", 'E', 1, 1, 0, 1);
  add_entry (truth, 1, 0, "", "", 'I', -1, 1, 0, 1);
  add_entry (truth, 2, 3, "", "", 'E', 1, 1, 0, 1);
  add_entry (truth, 3, 4, "", "", 'E', 1, 1, 0, 1);

  add_entry (found, 0, 1, "", "", 'E', 1, 1, 0, 1);   /* TP */
  add_entry (found, 1, 0, "", "", 'E', 1, 1, 0, 1);   /* TP, wrong sign */
  add_entry (found, 0, 1, "", "", 'E', 1, 1, 0, 1);   /* duplicate */
  add_entry (found, 4, 3, "", "", 'E', 1, 1, 0, 1);   /* FP: reversed */
  add_entry (found, 7, 8, "", "", 'I', 1, 1, 0, 1);   /* FP */

  imp_map_score (found, truth, &score);
  g_assert_cmpuint (score.true_positives, ==, 2);
  g_assert_cmpuint (score.false_positives, ==, 2);
  g_assert_cmpuint (score.false_negatives, ==, 2);
  g_assert_cmpuint (score.sign_errors, ==, 1);
  g_assert_cmpfloat_with_epsilon (score.precision, 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (score.recall, 0.5, 1e-12);

  imp_map_score (empty, truth, &score);
  g_assert_cmpfloat (score.precision, ==, 1.0);
  g_assert_cmpfloat (score.recall, ==, 0.0);
  g_assert_cmpuint (score.false_negatives, ==, 4);

  imp_map_score (found, empty, &score);
  g_assert_cmpfloat (score.precision, ==, 0.0);
  g_assert_cmpfloat (score.recall, ==, 1.0);

  imp_map_score (empty, empty, &score);
  g_assert_cmpfloat (score.precision, ==, 1.0);
  g_assert_cmpfloat (score.recall, ==, 1.0);
}

/* A truth file by hand: connections in each SNR band and sign, traps of
 * each kind, and a map found against it; every count below is counted by
 * hand from these rows. */
#define TRUTH_TEXT \
  IMP_MAP_TRUTH_CSV_HEADER "\n" \
  "0,1,a,b,E,1,2,0,100,10,connection\n"      /* high, found */ \
  "0,2,a,c,I,-1,2,0,100,6,connection\n"      /* high (6 is high), found */ \
  "1,2,b,c,E,0.5,2,0,100,5.99,connection\n"  /* mid, found with I */ \
  "2,3,c,d,I,-0.5,2,0,100,3,connection\n"    /* mid, missed */ \
  "3,4,d,e,E,0.1,2,0,100,2.9,connection\n"   /* low, missed */ \
  "4,5,e,f,E,0.1,2,0,100,,connection\n"      /* unknown, found */ \
  "5,6,f,g,E,0,0,1,100,,crosstalk\n"         /* trap, called */ \
  "6,5,g,f,E,0,0,1,100,,crosstalk\n"         /* trap */ \
  "6,7,g,h,E,0,0,1,100,,shared_input\n"      /* trap, called */ \
  "7,8,h,i,E,0,0,1,100,,comodulation\n"      /* trap */

static void
test_score_truth (void)
{
  g_autofree char *path = temp_path ("truth.csv");
  g_autofree char *again = temp_path ("again.csv");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GArray) plain = NULL;
  g_autoptr(GArray) reread = NULL;
  g_autoptr(GArray) found = imp_map_new ();
  g_autofree char *text = NULL;
  g_autofree char *json = NULL;
  ImpMapScore score;

  g_assert_true (g_file_set_contents (path, TRUTH_TEXT, -1, &error));
  g_assert_no_error (error);
  truth = imp_map_read_truth_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (truth->len, ==, 10);
  g_assert_cmpint (g_array_index (truth, ImpMapEntry, 6).kind, ==,
                   IMP_MAP_TRAP_CROSSTALK);
  g_assert_true (isnan (g_array_index (truth, ImpMapEntry, 5).snr));
  g_assert_cmpfloat (g_array_index (truth, ImpMapEntry, 2).snr, ==, 5.99);

  /* Readers of plain maps see the connections only. */
  plain = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plain->len, ==, 6);

  /* Written back, read back the same. */
  g_assert_true (imp_map_write_truth_csv (truth, again, &error));
  g_assert_no_error (error);
  reread = imp_map_read_truth_csv (again, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (reread->len, ==, 10);
  g_assert_cmpint (g_array_index (reread, ImpMapEntry, 8).kind, ==,
                   IMP_MAP_TRAP_SHARED_INPUT);
  g_assert_cmpfloat (g_array_index (reread, ImpMapEntry, 0).snr, ==, 10);

  add_entry (found, 0, 1, "", "", 'E', 1, 1, 0, 1);
  add_entry (found, 0, 2, "", "", 'I', 1, 1, 0, 1);
  add_entry (found, 1, 2, "", "", 'I', 1, 1, 0, 1);   /* sign error */
  add_entry (found, 4, 5, "", "", 'E', 1, 1, 0, 1);
  add_entry (found, 5, 6, "", "", 'E', 1, 1, 0, 1);   /* crosstalk trap */
  add_entry (found, 6, 7, "", "", 'E', 1, 1, 0, 1);   /* shared input trap */
  add_entry (found, 9, 9, "", "", 'E', 1, 1, 0, 1);   /* plain FP */

  imp_map_score (found, truth, &score);
  g_assert_cmpuint (score.true_positives, ==, 4);
  g_assert_cmpuint (score.false_positives, ==, 3);
  g_assert_cmpuint (score.false_negatives, ==, 2);
  g_assert_cmpuint (score.sign_errors, ==, 1);
  g_assert_cmpfloat_with_epsilon (score.precision, 4.0 / 7, 1e-12);
  g_assert_cmpfloat_with_epsilon (score.recall, 4.0 / 6, 1e-12);
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_HIGH], ==, 2);
  g_assert_cmpuint (score.band_found[IMP_MAP_SNR_HIGH], ==, 2);
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_MID], ==, 2);
  g_assert_cmpuint (score.band_found[IMP_MAP_SNR_MID], ==, 1);
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_LOW], ==, 1);
  g_assert_cmpuint (score.band_found[IMP_MAP_SNR_LOW], ==, 0);
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_UNKNOWN], ==, 1);
  g_assert_cmpuint (score.band_found[IMP_MAP_SNR_UNKNOWN], ==, 1);
  g_assert_cmpfloat_with_epsilon (
    imp_map_score_band_recall (&score, IMP_MAP_SNR_MID), 0.5, 1e-12);
  g_assert_cmpuint (score.sign_total[0], ==, 4);
  g_assert_cmpuint (score.sign_found[0], ==, 3);
  g_assert_cmpuint (score.sign_total[1], ==, 2);
  g_assert_cmpuint (score.sign_found[1], ==, 1);
  g_assert_cmpuint (score.n_traps, ==, 4);
  g_assert_cmpuint (score.n_traps_called, ==, 2);
  g_assert_cmpuint (score.traps_total[IMP_MAP_TRAP_CROSSTALK], ==, 2);
  g_assert_cmpuint (score.traps_called[IMP_MAP_TRAP_CROSSTALK], ==, 1);
  g_assert_cmpuint (score.traps_called[IMP_MAP_TRAP_SHARED_INPUT], ==, 1);
  g_assert_cmpuint (score.traps_called[IMP_MAP_TRAP_COMODULATION], ==, 0);

  text = imp_map_score_to_text (&score);
  g_assert_nonnull (strstr (text, "3 <= SNR < 6   0.500 (1 of 2)"));
  g_assert_nonnull (strstr (text, "traps called     2 of 4"));
  json = imp_map_score_to_json (&score);
  g_assert_nonnull (strstr (json, "\"traps_called\" : 2"));

  /* An empty band has no recall. */
  g_array_set_size (found, 0);
  imp_map_score (found, found, &score);
  g_assert_true (isnan (imp_map_score_band_recall (&score,
                                                   IMP_MAP_SNR_HIGH)));

  remove_temp (path);
  remove_temp (again);
}

/* Labels from a file must not become spreadsheet formulas: those that
 * start like one (and those that start with the apostrophe used to guard
 * them) are written with a leading apostrophe and read back unchanged. */
static void
test_formula_labels (void)
{
  static const char * const labels[] = { "=1+2", "+SUM(A1:A9)", "-2+3",
                                          "@cmd", "\tx", "'quoted", "''",
                                          "normal", "a=b", "-",
                                          "=HYPERLINK(\"x\",\"y\")" };
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GArray) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("MAP.csv");
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (labels); i++)
    add_entry (map, i, i + 1, labels[i], "B1", 'E', 1.0, 1.0, 0.001, 5);
  g_assert_true (imp_map_write_csv (map, path, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, ",'=1+2,"));
  g_assert_nonnull (strstr (text, ",'+SUM(A1:A9),"));
  g_assert_nonnull (strstr (text, ",'-2+3,"));
  g_assert_nonnull (strstr (text, ",'@cmd,"));
  g_assert_nonnull (strstr (text, ",''quoted,"));
  g_assert_nonnull (strstr (text, ",normal,"));
  g_assert_nonnull (strstr (text, ",a=b,"));
  g_assert_nonnull (strstr (text, ",\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\","));
  /* No cell of a row starts a formula (the numbers are plain numbers). */
  lines = g_strsplit (text, "\n", -1);
  for (i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_auto(GStrv) cells = g_strsplit (lines[i], ",", -1);
      guint k;

      for (k = 0; cells[k] != NULL; k++)
        if (k == 2 || k == 3)
          g_assert_null (strchr ("=+-@\t", cells[k][0] != '\0'
                                            ? cells[k][0] : 'x'));
    }

  back = imp_map_read_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, map->len);
  for (i = 0; i < map->len; i++)
    g_assert_cmpstr (g_array_index (back, ImpMapEntry, i).pre_label, ==,
                     labels[i]);

  remove_temp (path);
}

static gpointer
read_fifo_thread (gpointer data)
{
  char *contents = NULL;

  g_assert_true (g_file_get_contents (data, &contents, NULL, NULL));
  return contents;
}

static char *
read_text (const char *path)
{
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* Regression: the map was written to a temporary file renamed over the
 * target, which replaced a device (as root, /dev/full and /dev/stdout
 * became regular files), a FIFO or a symbolic link. Now only regular files
 * are replaced, a link's target rather than the link, and anything else is
 * written to in place. (Devices are not tried here: if this broke again,
 * the test would replace them.) */
static void
test_write_targets (void)
{
  g_autoptr(GArray) map = imp_map_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("imp-test-map-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *target = g_build_filename (dir, "target.csv", NULL);
  g_autofree char *link = g_build_filename (dir, "link.csv", NULL);
  g_autofree char *chain = g_build_filename (dir, "chain.csv", NULL);
  g_autofree char *dangling = g_build_filename (dir, "dangling.csv", NULL);
  g_autofree char *created = g_build_filename (dir, "created.csv", NULL);
  g_autofree char *text = NULL;
  g_autofree char *from_fifo = NULL;
  g_autofree char *link_text = NULL;
  GThread *reader;
  GStatBuf st;

  g_assert_nonnull (dir);
  add_entry (map, 0, 1, "A1", "A2", 'E', 1.25, 2.5, 1e-12, 60);

  /* A FIFO stays a FIFO, and the reader gets the map. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  reader = g_thread_new ("fifo-reader", read_fifo_thread, fifo);
  g_assert_true (imp_map_write_csv (map, fifo, &error));
  g_assert_no_error (error);
  from_fifo = g_thread_join (reader);
  g_assert_true (g_str_has_prefix (from_fifo, IMP_MAP_CSV_HEADER "\n0,1,"));
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));

  /* A regular file is replaced, keeping its permissions. */
  g_assert_true (g_file_set_contents (target, "old", -1, NULL));
  g_assert_cmpint (g_chmod (target, 0640), ==, 0);
  g_assert_true (imp_map_write_csv (map, target, &error));
  g_assert_no_error (error);
  text = read_text (target);
  g_assert_true (g_str_has_prefix (text, IMP_MAP_CSV_HEADER));
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);

  /* Through a link, and a link to that link: the links stay, the file
   * they lead to is replaced. */
  g_assert_true (g_file_set_contents (target, "old", -1, NULL));
  g_assert_cmpint (symlink ("target.csv", link), ==, 0);
  g_assert_cmpint (symlink (link, chain), ==, 0);
  g_assert_true (imp_map_write_csv (map, chain, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (g_lstat (chain, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  link_text = g_file_read_link (link, NULL);
  g_assert_cmpstr (link_text, ==, "target.csv");
  g_free (text);
  text = read_text (target);
  g_assert_true (g_str_has_prefix (text, IMP_MAP_CSV_HEADER));

  /* A link to nothing yet: the file it names is created. */
  g_assert_cmpint (symlink ("created.csv", dangling), ==, 0);
  g_assert_true (imp_map_write_csv (map, dangling, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_lstat (dangling, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_free (text);
  text = read_text (created);
  g_assert_true (g_str_has_prefix (text, IMP_MAP_CSV_HEADER));

  /* /dev/stdout is this process's standard output, without /proc (which
   * a bare chroot lacks): with fd 1 sent to a file, the map lands there,
   * after what was written before. */
  {
    g_autofree char *out = g_build_filename (dir, "stdout.csv", NULL);
    g_autofree char *out_text = NULL;
    int saved = dup (STDOUT_FILENO);
    int fd = g_open (out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    g_assert_cmpint (saved, >=, 0);
    g_assert_cmpint (fd, >=, 0);
    fflush (stdout);
    g_assert_cmpint (dup2 (fd, STDOUT_FILENO), ==, STDOUT_FILENO);
    g_assert_cmpint (write (STDOUT_FILENO, "before\n", 7), ==, 7);
    g_assert_true (imp_map_write_csv (map, "/dev/stdout", &error));
    g_assert_no_error (error);
    g_assert_cmpint (dup2 (saved, STDOUT_FILENO), ==, STDOUT_FILENO);
    close (saved);
    close (fd);
    out_text = read_text (out);
    g_assert_true (g_str_has_prefix (out_text, "before\n" IMP_MAP_CSV_HEADER
                                               "\n0,1,"));
    g_unlink (out);
  }

  /* A folder is an error, and is left alone. */
  g_assert_false (imp_map_write_csv (map, dir, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));

  g_unlink (fifo);
  g_unlink (chain);
  g_unlink (link);
  g_unlink (target);
  g_unlink (dangling);
  g_unlink (created);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imp/Map/roundtrip", test_roundtrip);
  g_test_add_func ("/imp/Map/locale", test_locale);
  g_test_add_func ("/imp/Map/malformed", test_malformed);
  g_test_add_func ("/imp/Map/tiny-p", test_tiny_p);
  g_test_add_func ("/imp/Map/no-latency", test_no_latency);
  g_test_add_func ("/imp/Map/crlf-and-empty", test_crlf_and_empty);
  g_test_add_func ("/imp/Map/quantal-columns", test_quantal_columns);
  g_test_add_func ("/imp/Map/score", test_score);
  g_test_add_func ("/imp/Map/score-truth", test_score_truth);
  g_test_add_func ("/imp/Map/formula-labels", test_formula_labels);
  g_test_add_func ("/imp/Map/write-targets", test_write_targets);

  return g_test_run ();
}
