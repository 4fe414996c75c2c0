/* test-accuracy.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "imp-analysis.h"
#include "imp-map.h"
#include "imp-recording.h"
#include "imp-simulate.h"

/* The accuracy targets on the hard simulation (docs/accuracy.md). */
#define PRECISION_MIN   0.97
#define RECALL_HIGH_MIN 0.97
#define RECALL_MID_MIN  0.85

static char *tmp_dir;

/* Simulates @params, analyses with the defaults and scores the map
 * against the simulator's truth (traps included). */
static void
simulate_and_score (const ImpSimParams *params,
                    ImpMapScore        *score,
                    guint              *n_connections)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmp_dir, "hard.h5", NULL);
  g_autofree char *truth_path = g_build_filename (tmp_dir, "hard.csv", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GArray) found = NULL;
  g_autofree char *text = NULL;
  ImpAnalysisParams ap;

  g_assert_true (imp_simulate (params, path, truth_path, NULL, NULL, NULL,
                               &error));
  g_assert_no_error (error);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  imp_analysis_params_init_default (&ap);
  res = imp_analysis_run (rec, &ap, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  truth = imp_map_read_truth_csv (truth_path, &error);
  g_assert_no_error (error);
  found = imp_analysis_result_to_map (res);
  imp_map_score (found, truth, score);
  *n_connections = res->n_connections;
  text = imp_map_score_to_text (score);
  g_test_message ("seed %" G_GUINT64_FORMAT ":\n%s", params->seed, text);
  g_unlink (path);
  g_unlink (truth_path);
}

static void
test_hard (gconstpointer data)
{
  ImpSimParams params;
  ImpMapScore score;
  guint n;

  imp_sim_params_init_hard (&params);
  params.seed = GPOINTER_TO_UINT (data);
  simulate_and_score (&params, &score, &n);

  /* The simulation is hard in every way the preset promises. */
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_HIGH], >=, 30);
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_MID], >=, 30);
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_LOW], >=, 30);
  g_assert_cmpuint (score.sign_total[1], >=, 30);
  g_assert_cmpuint (score.traps_total[IMP_MAP_TRAP_CROSSTALK], >=, 20);
  g_assert_cmpuint (score.traps_total[IMP_MAP_TRAP_SHARED_INPUT], >=, 6);
  g_assert_cmpuint (score.traps_total[IMP_MAP_TRAP_COMODULATION], >=, 100);

  g_assert_cmpfloat (score.precision, >=, PRECISION_MIN);
  g_assert_cmpfloat (imp_map_score_band_recall (&score, IMP_MAP_SNR_HIGH),
                     >=, RECALL_HIGH_MIN);
  g_assert_cmpfloat (imp_map_score_band_recall (&score, IMP_MAP_SNR_MID),
                     >=, RECALL_MID_MIN);
  g_assert_cmpuint (score.n_traps_called, ==, 0);
  g_assert_cmpuint (score.sign_errors, <=, score.true_positives / 50);
}

/* Without synapses every related pair is a trap, and none may be called. */
static void
test_traps_only (void)
{
  ImpSimParams params;
  ImpMapScore score;
  guint n;

  imp_sim_params_init_hard (&params);
  params.seed = 7;
  params.connection_prob = 0;
  simulate_and_score (&params, &score, &n);

  g_assert_cmpuint (score.n_traps, >=, 100);
  g_assert_cmpuint (n, ==, 0);
  g_assert_cmpuint (score.n_traps_called, ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("imp-accuracy-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_data_func ("/imp/Accuracy/hard-seed-1", GUINT_TO_POINTER (1),
                        test_hard);
  g_test_add_data_func ("/imp/Accuracy/hard-seed-2", GUINT_TO_POINTER (2),
                        test_hard);
  g_test_add_func ("/imp/Accuracy/traps-only", test_traps_only);

  status = g_test_run ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
