/* imp-analysis.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>
#include <json-glib/json-glib.h>

#include "imp-analysis.h"
#include "imp-analysis-private.h"
#include "imp-detect.h"
#include "imp-kinetics.h"
#include "imp-psc.h"
#include "imp-output.h"
#include "imp-stream.h"

/* The length of a time block; a block is extended by PAD_MS on both
 * sides (within its sweep) so that events near its edges are seen whole.
 * PAD_MS covers the PSP detector's AP blanking (50 ms) and reach. The
 * stream (imp-stream.c) hands blocks to the workers 64 channels at a
 * time. */
#define BLOCK_MIN_S       1.0
#define BLOCK_ALIGN       8192
#define PAD_MS            60.0
/* The level (median) of a block is taken from this many evenly spaced
 * samples. */
#define LEVEL_VALUES      2048
/* Amplitudes are means over ±PEAK_HALF_MS around the average's extreme,
 * which is searched up to PEAK_AFTER_MS after latency_max_ms. */
#define PEAK_HALF_MS      0.2
#define PEAK_AFTER_MS     5.0
/* A PSP's shape is measured on its isolated trials' average when it has
 * at least this many (docs/analysis.md, "Measuring candidates"). */
#define KINETICS_MIN_TRIALS 50
/* A test whose count is unremarkable against the analytic jitter mean
 * (Poisson p above the larger of SCREEN_P_MIN, alpha and candidate_p_max,
 * with the mean lowered by SCREEN_MARGIN) gets that Poisson p without
 * surrogates: it can be neither significant nor a candidate. */
#define SCREEN_P_MIN      0.01
#define SCREEN_MARGIN     0.9

/* Trials in which the postsynaptic cell fires, or is still in the AHP of
 * an AP up to POST_AP_GUARD_MS before the window, are left out of averages:
 * an 80 mV AP would swamp a 1 mV PSP. */
#define POST_AP_GUARD_MS  30.0

/* A candidate is an artefact when, averaged over trials, the post signal
 * in the last ARTEFACT_LATE_MS before the presynaptic AP peak has moved from
 * the start of the window by more than ARTEFACT_FRACTION of the PSP
 * amplitude, and the move is clear of trial-to-trial noise (ARTEFACT_T
 * standard errors). A synaptic response cannot precede the AP. */
#define ARTEFACT_LATE_MS  1.0
#define ARTEFACT_FRACTION 0.5
#define ARTEFACT_T        5.0
/* Explained by another input (docs/analysis.md): the direct response
 * that is left when the other inputs' PSPs are regressed out. */
#define EXPLAIN_MIN_TRIALS   30
#define EXPLAIN_DIRECT_Z     2.0
#define EXPLAIN_FRACTION     0.5
#define EXPLAIN_TAIL_DECAYS  5.0    /* an input's PSP is followed this many */
#define EXPLAIN_TAIL_MAX_MS  150.0  /* decay time constants, at most this */
#define EXPLAIN_SYNC_MS      1.0    /* an input with an AP this close to */
#define EXPLAIN_SYNC_SHARE   0.25   /* more of the presynaptic APs than
                                       this explains nothing: the same
                                       cell on two electrodes */

/* Worker threads for detection and correlation, at most. */
#define MAX_THREADS       8
/* The most the candidates' trials may take to be kept between the two
 * passes of their measurement. */
#define MEASURE_KEEP_BYTES ((gsize) 256 * 1024 * 1024)

static gsize measure_keep_bytes = MEASURE_KEEP_BYTES;

/* Overall progress: detection, then correlation, then measuring, then
 * the quantal fits. */
#define PROGRESS_DETECT   0.6
#define PROGRESS_PAIRS    0.3
#define PROGRESS_QUANTA   0.05

G_DEFINE_AUTOPTR_CLEANUP_FUNC (gsl_rng, gsl_rng_free)

typedef enum
{
  TEST_E,
  TEST_I,
  TEST_AP,
  N_TESTS
} TestKind;

/* A pair that may become a candidate, with what measure_all() needs; the
 * other pairs keep only their two p-values (Run.p_pair, Run.p_ap). */
typedef struct
{
  guint   pre;
  guint   post;
  gsize   slot;        /* the pair's index among all tested pairs */
  double  p[N_TESTS];
  guint   hits[N_TESTS];
  double  null_mean[N_TESTS];
  double  p_pair;      /* the waveform test's p */
  double  p_event;     /* min over E and I event counts, Bonferroni for
                          the two signs */
  double  q_pair;
  double  q_ap;
  ImpPscTest wave;
} PairTest;

/* What a channel's samples were like, over all blocks. */
typedef struct
{
  gint64 n_usable;
  gint64 n_gaps;      /* samples that are not usable (NaN, infinite, out
                         of range) */
  float  lowest;      /* of the usable samples */
  float  highest;
} ChannelStats;

typedef struct
{
  ImpRecording            *recording;
  const ImpAnalysisParams *params;
  ImpProgressFunc          progress;
  gpointer                 user_data;
  GCancellable            *cancellable;
  ImpAnalysisResult       *result;
  guint                    n_channels;
  double                   fs;
  /* per channel during detection */
  GArray                 **levels;     /* float: block medians */
  GArray                 **noises;     /* float: block noise SDs */
  ChannelStats            *stats;
  GArray                  *steps;      /* gint64: edges of held current
                                          steps on any current channel */
  /* per channel after detection: AP times, sorted (the PSPs are read
   * from the result's events) */
  GArray                 **ap_times;   /* gint64 */
  /* The tested ordered pairs, each at a slot: by presynaptic channel,
   * then postsynaptic channel, as the correlation tests them. */
  gsize                    n_pairs;
  guint                    n_posts;    /* channels tested as post */
  gsize                   *first_slot; /* per channel: its first slot as
                                          pre, G_MAXSIZE when not one */
  guint                   *post_index; /* per channel: its index among the
                                          posts, G_MAXUINT when not one */
  double                  *p_pair;     /* n_pairs: the event counts' p, then
                                          the waveform test's, then its q */
  double                  *p_ap;       /* n_pairs: AP->AP p, then its q */
  GArray                  *tests;      /* PairTest: the pairs that may
                                          become candidates, by slot */
  GHashTable              *cand_tests; /* ImpCandidate -> its PairTest */
  /* the event tests' windows (samples) and screen, to test candidates
   * again */
  gint64                   lo, hi, ap_hi, jitter;
  double                   screen_p;
} Run;

void
imp_analysis_params_init_default (ImpAnalysisParams *params)
{
  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof *params);
  params->ap_threshold_sd = 8.0;
  params->ap_min_height_mv = 20.0;
  params->ap_refractory_ms = 2.0;
  params->psp_threshold_sd = 4.0;
  params->window_pre_ms = 5.0;
  params->window_post_ms = 25.0;
  params->latency_min_ms = 0.5;
  params->latency_max_ms = 10.0;
  params->alpha = 0.001;
  params->n_surrogates = 200;
  params->seed = 1;
  params->jitter_ms = 50.0;
  params->min_pre_aps = 3;
  params->candidate_p_max = 0.01;
  params->max_candidates = 2000;
  params->deconv_tau_ms = 15.0;
  params->psc_window_ms = 2.0;
  params->baseline_ms = 10.0;
  params->lead_ms = 10.0;
  params->ap_blank_ms = 3.0;
  params->common_input_z = 3.5;
  params->spread_z = 3.0;
  imp_quantal_params_init_default (&params->quantal);
}

/**
 * imp_analysis_params_validate:
 * @params: parameters
 * @error: return location for a #GError
 *
 * Checks the parameters as imp_analysis_run() does, without a recording,
 * so that a caller can refuse bad values before opening a file. An average
 * window shorter than the latency window plus
 * %IMP_ANALYSIS_DECAY_MARGIN_MS is not an error: the analysis widens it
 * (imp_analysis_params_normalise()).
 *
 * Returns: %TRUE when imp_analysis_run() accepts @params; otherwise
 *   %FALSE with %G_IO_ERROR_INVALID_ARGUMENT set, saying what is wrong
 */
gboolean
imp_analysis_params_validate (const ImpAnalysisParams  *params,
                              GError                  **error)
{
  const ImpAnalysisParams *p = params;
  const char *problem = NULL;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Written so that NaN fails every test. */
  if (!(p->ap_threshold_sd > 0 && p->ap_threshold_sd <= 1e6)
      || !(p->psp_threshold_sd > 0 && p->psp_threshold_sd <= 1e6))
    problem = "detection thresholds must be positive";
  else if (!(p->ap_min_height_mv > 0 && p->ap_min_height_mv <= 1e6)
           || !(p->ap_refractory_ms >= 0 && p->ap_refractory_ms <= 1000))
    problem = "the AP height must be positive and the refractory period "
              "between 0 and 1 s";
  else if (!(p->window_pre_ms > 0 && p->window_pre_ms <= 1000)
           || !(p->window_post_ms > 0 && p->window_post_ms <= 1000))
    problem = "the average window must be positive and at most 1 s a side";
  else if (!(p->latency_min_ms >= 0)
           || !(p->latency_max_ms > p->latency_min_ms)
           || !(p->latency_max_ms + IMP_ANALYSIS_DECAY_MARGIN_MS <= 1000))
    problem = "the latency window must be non-empty and end before "
              "985 ms";
  else if (!(p->alpha > 0 && p->alpha < 1)
           || !(p->candidate_p_max >= 0 && p->candidate_p_max <= 1))
    problem = "alpha and candidate_p_max must lie between 0 and 1";
  else if (p->n_surrogates < 2 || p->n_surrogates > 1000000)
    problem = "the number of surrogates must be between 2 and 1,000,000";
  else if (!(p->jitter_ms > 0 && p->jitter_ms <= 10000))
    problem = "the jitter must be positive and at most 10 s";
  else if (!(p->deconv_tau_ms >= 0.5 && p->deconv_tau_ms <= 1000)
           || !(p->psc_window_ms >= 0.1 && p->psc_window_ms <= 50)
           || !(p->baseline_ms >= 1 && p->baseline_ms <= 500)
           || !(p->lead_ms >= 1 && p->lead_ms <= 500)
           || !(p->ap_blank_ms >= 0 && p->ap_blank_ms <= 100))
    problem = "the deconvolution time constant must lie between 0.5 ms and "
              "1 s, the summed window between 0.1 and 50 ms, the baseline "
              "and lead between 1 and 500 ms and the AP blank between 0 and "
              "100 ms";
  else if (!(p->common_input_z > 0 && p->common_input_z <= 1000))
    problem = "the common-input threshold must be positive";
  else if (!(p->spread_z > 0 && p->spread_z <= 1e6))
    problem = "the onset-spread threshold must be positive";

  if (problem != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot analyse: %s", problem);
      return FALSE;
    }
  return imp_quantal_params_validate (&p->quantal, error);
}

/**
 * imp_analysis_params_normalise:
 * @params: (inout): valid parameters
 *
 * Widens the average window after the AP (window_post_ms) to at least
 * latency_max_ms + %IMP_ANALYSIS_DECAY_MARGIN_MS, so that a PSP at the
 * longest accepted latency is seen to its peak and into its decay.
 * imp_analysis_run() does this to its copy of the parameters; the result's
 * parameters are the widened ones.
 */
void
imp_analysis_params_normalise (ImpAnalysisParams *params)
{
  g_return_if_fail (params != NULL);

  params->window_post_ms = MAX (params->window_post_ms,
                                params->latency_max_ms
                                + IMP_ANALYSIS_DECAY_MARGIN_MS);
}

static void
report (Run        *run,
        double      fraction,
        const char *stage)
{
  if (run->progress != NULL)
    run->progress (CLAMP (fraction, 0.0, 1.0), stage, run->user_data);
}

/* Runs func (data, item) for items 0..n-1 on up to the machine's number of
 * processors (at most MAX_THREADS), the calling thread included. Each item
 * writes only its own outputs, so results do not depend on scheduling.
 * @after, when given, runs on the calling thread after each item it ran,
 * with the number of items finished so far (progress). */
typedef void (*ItemFunc) (gpointer data,
                          guint    item);

typedef struct
{
  ItemFunc      func;
  gpointer      data;
  guint         n;
  gint          next;
  gint          finished;
  GCancellable *cancellable;
} Parallel;

static void
parallel_loop (Parallel *par,
               void    (*after) (gpointer data, guint finished),
               gpointer  after_data)
{
  for (;;)
    {
      gint item = g_atomic_int_add (&par->next, 1);
      gint finished;

      if (item >= (gint) par->n
          || g_cancellable_is_cancelled (par->cancellable))
        break;
      par->func (par->data, (guint) item);
      finished = g_atomic_int_add (&par->finished, 1) + 1;
      if (after != NULL)
        after (after_data, (guint) finished);
    }
}

static gpointer
parallel_worker (gpointer data)
{
  parallel_loop (data, NULL, NULL);
  return NULL;
}

static void
parallel_for (guint          n,
              ItemFunc       func,
              gpointer       data,
              GCancellable  *cancellable,
              void         (*after) (gpointer data, guint finished),
              gpointer       after_data)
{
  Parallel par = { func, data, n, 0, 0, cancellable };
  guint n_threads = CLAMP (g_get_num_processors (), 1, MAX_THREADS);
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  guint i;

  n_threads = MIN (n_threads, MAX (n, 1));
  for (i = 1; i < n_threads; i++)
    g_ptr_array_add (threads, g_thread_new ("imp-analysis", parallel_worker,
                                            &par));
  parallel_loop (&par, after, after_data);
  for (i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
}

static inline gint64
ms_to_samples (double ms,
               double fs)
{
  return (gint64) round (ms * fs / 1000.0);
}

static void
candidate_free (ImpCandidate *c)
{
  g_free (c->average);
  g_free (c->trial_amplitudes);
  g_free (c->quantal_amplitudes);
  g_free (c);
}

static ImpAnalysisResult *
result_new (guint n_channels)
{
  ImpAnalysisResult *self = g_new0 (ImpAnalysisResult, 1);
  guint i;

  g_atomic_ref_count_init (&self->ref_count);
  self->n_channels = n_channels;
  self->labels = g_new0 (char *, n_channels + 1);
  self->notes = g_new0 (char *, n_channels + 1);
  self->access = g_new0 (ImpAccess, n_channels);
  self->noise_mv = g_new0 (double, n_channels);
  self->median_mv = g_new0 (double, n_channels);
  self->aps = g_new0 (GArray *, n_channels);
  self->psps = g_new0 (GArray *, n_channels);
  for (i = 0; i < n_channels; i++)
    {
      self->aps[i] = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      self->psps[i] = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
    }
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                     candidate_free);
  return self;
}

ImpAnalysisResult *
imp_analysis_result_ref (ImpAnalysisResult *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
imp_analysis_result_unref (ImpAnalysisResult *self)
{
  guint i;

  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  for (i = 0; i < self->n_channels; i++)
    {
      g_array_unref (self->aps[i]);
      g_array_unref (self->psps[i]);
    }
  g_strfreev (self->labels);
  g_free (self->access);
  g_free (self->noise_mv);
  g_free (self->median_mv);
  g_free (self->aps);
  g_free (self->psps);
  g_ptr_array_unref (self->candidates);
  g_strfreev (self->notes);
  g_free (self->warning);
  g_free (self);
}

static void
run_clear (Run *run)
{
  guint i;

  for (i = 0; i < run->n_channels; i++)
    {
      if (run->levels != NULL)
        g_clear_pointer (&run->levels[i], g_array_unref);
      if (run->noises != NULL)
        g_clear_pointer (&run->noises[i], g_array_unref);
      if (run->ap_times != NULL)
        g_clear_pointer (&run->ap_times[i], g_array_unref);
    }
  g_clear_pointer (&run->levels, g_free);
  g_clear_pointer (&run->noises, g_free);
  g_clear_pointer (&run->stats, g_free);
  g_clear_pointer (&run->steps, g_array_unref);
  g_clear_pointer (&run->ap_times, g_free);
  g_clear_pointer (&run->first_slot, g_free);
  g_clear_pointer (&run->post_index, g_free);
  g_clear_pointer (&run->p_pair, g_free);
  g_clear_pointer (&run->p_ap, g_free);
  g_clear_pointer (&run->cand_tests, g_hash_table_unref);
  g_clear_pointer (&run->tests, g_array_unref);
  g_clear_pointer (&run->result, imp_analysis_result_unref);
}

/* Stage 1 */

static int
compare_events (const void *a,
                const void *b)
{
  gint64 sa = ((const ImpEvent *) a)->sample;
  gint64 sb = ((const ImpEvent *) b)->sample;

  return (sa > sb) - (sa < sb);
}

/* Lanes of the running minimum and maximum: the compiler turns them into
 * vector instructions (min/max by comparison and selection, exact). */
#define STATS_LANES 8

/* Counts the usable samples and gaps of x[0..n) and their range. */
static void
add_stats (ChannelStats *stats,
           const float  *x,
           gsize         n)
{
  float lo[STATS_LANES], hi[STATS_LANES];
  guint32 bad[STATS_LANES] = { 0 };
  gsize gaps = 0;
  gsize i, j;

  /* One pass for the usual case, without gaps: the range of all samples
   * and the gaps counted alongside, in lanes (vectorises). */
  for (j = 0; j < STATS_LANES; j++)
    {
      lo[j] = stats->lowest;
      hi[j] = stats->highest;
    }
  for (i = 0; i + STATS_LANES <= n && i < G_MAXUINT32; i += STATS_LANES)
    for (j = 0; j < STATS_LANES; j++)
      {
        float v = x[i + j];

        bad[j] += !imp_detect_usable (v);
        lo[j] = v < lo[j] ? v : lo[j];
        hi[j] = v > hi[j] ? v : hi[j];
      }
  for (j = 0; j < STATS_LANES; j++)
    gaps += bad[j];
  if (gaps == 0 && i + STATS_LANES > n)
    {
      for (; i < n; i++)
        {
          gaps += !imp_detect_usable (x[i]);
          lo[0] = x[i] < lo[0] ? x[i] : lo[0];
          hi[0] = x[i] > hi[0] ? x[i] : hi[0];
        }
      if (gaps == 0)
        {
          for (j = 0; j < STATS_LANES; j++)
            {
              stats->lowest = MIN (stats->lowest, lo[j]);
              stats->highest = MAX (stats->highest, hi[j]);
            }
          stats->n_usable += n;
          return;
        }
    }

  /* With gaps, the range of the usable samples only. */
  gaps = imp_detect_count_gaps (x, n);
  stats->n_gaps += gaps;
  stats->n_usable += n - gaps;
  for (i = 0; i < n; i++)
    if (imp_detect_usable (x[i]))
      {
        stats->lowest = MIN (stats->lowest, x[i]);
        stats->highest = MAX (stats->highest, x[i]);
      }
}

/* Detects on one channel's padded segment x[0..n), which starts at
 * recording sample @r0, and keeps the events in [t0, t1). */
static void
detect_channel_block (Run         *run,
                      guint        channel,
                      const float *x,
                      gsize        n,
                      gint64       r0,
                      gint64       t0,
                      gint64       t1)
{
  ImpAnalysisResult *res = run->result;
  const ImpAnalysisParams *p = run->params;
  g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autoptr(GArray) blank = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autoptr(GArray) psps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autofree float *sample = NULL;
  gint64 refractory = MAX (1, ms_to_samples (p->ap_refractory_ms, run->fs));
  gint64 stride = MAX ((t1 - t0) / LEVEL_VALUES, 1);
  GArray *out_aps = res->aps[channel];
  double level, noise;
  guint n_artefacts;
  gsize m = 0;
  gint64 t;
  guint k;

  /* Gaps (NaN, infinite) are ignored by the level and the noise. */
  add_stats (&run->stats[channel], x + (t0 - r0), (gsize) (t1 - t0));
  noise = imp_detect_noise_sd (x + (t0 - r0), (gsize) (t1 - t0));
  sample = g_new (float, (t1 - t0) / stride + 1);
  for (t = t0; t < t1; t += stride)
    sample[m++] = x[t - r0];
  level = imp_detect_median (sample, m);
  {
    /* Kept as float: the medians over blocks are taken in float. */
    float level_f = (float) level, noise_f = (float) noise;

    g_array_append_val (run->levels[channel], level_f);
    g_array_append_val (run->noises[channel], noise_f);
  }

  if (!imp_detect_is_voltage (imp_recording_get_channel (run->recording,
                                                         channel)->unit))
    return;

  /* Spikes too narrow for APs are artefacts; PSP detection stays away
   * from them as from APs. */
  imp_detect_aps_full (x, n, run->fs, p, r0, aps, blank);
  for (k = 0; k < aps->len; k++)
    {
      ImpEvent *ev = &g_array_index (aps, ImpEvent, k);

      if (ev->sample < t0 || ev->sample >= t1)
        continue;
      /* Neighbouring blocks may both see an AP near their border. */
      if (out_aps->len > 0
          && (gint64) ev->sample
             - (gint64) g_array_index (out_aps, ImpEvent,
                                       out_aps->len - 1).sample < refractory)
        continue;
      g_array_append_val (out_aps, *ev);
    }

  /* So do the edges of held current steps: the membrane charging after
   * one (and crosstalk into other cells) looks like a PSP. */
  for (k = imp_detect_lower_bound ((const gint64 *) run->steps->data,
                                   run->steps->len, r0);
       k < run->steps->len && g_array_index (run->steps, gint64, k)
                              < r0 + (gint64) n; k++)
    {
      ImpEvent ev = { (guint32) g_array_index (run->steps, gint64, k), 0 };

      g_array_append_val (blank, ev);
    }
  n_artefacts = blank->len;
  g_array_append_vals (blank, aps->data, aps->len);
  if (n_artefacts > 0)
    g_array_sort (blank, compare_events);
  imp_detect_psps (x, n, run->fs, p, r0,
                   (const ImpEvent *) blank->data, blank->len, psps);
  for (k = 0; k < psps->len; k++)
    {
      ImpEvent *ev = &g_array_index (psps, ImpEvent, k);

      if (ev->sample >= t0 && ev->sample < t1)
        g_array_append_val (res->psps[channel], *ev);
    }
}

/* Detection on one block of a group of channels, on a stream worker. */
static void
detect_block_cb (const ImpStreamBlock *block,
                 gpointer              data)
{
  Run *run = data;
  guint c;

  for (c = 0; c < block->n_channels; c++)
    detect_channel_block (run, block->first_channel + c,
                          block->samples + c * block->len, block->len,
                          block->r0, block->t0, block->t1);
}

static void
detect_progress_cb (double   fraction,
                    gpointer data)
{
  report (data, PROGRESS_DETECT * fraction, "Reading and detecting");
}

/* The time blocks of one sweep: [start, end) pairs, each at least half a
 * block long unless the sweep is shorter. */
static GArray *
sweep_blocks (const ImpSweep *sweep,
              gint64          block)
{
  GArray *blocks = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 end = sweep->start_sample + sweep->n_samples;
  gint64 t;

  for (t = sweep->start_sample; t < end; t += block)
    {
      gint64 t1 = MIN (t + block, end);

      if (end - t1 < block / 2)
        t1 = end;
      g_array_append_val (blocks, t);
      g_array_append_val (blocks, t1);
      if (t1 == end)
        break;
    }
  return blocks;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 ia = *(const gint64 *) a;
  gint64 ib = *(const gint64 *) b;

  return (ia > ib) - (ia < ib);
}

/* Before detection: the edges of held steps on every current channel (the
 * command of current clamp), block by block. PSP detection on the voltage
 * channels stays away from them. */
static gboolean
find_steps (Run     *run,
            gint64   block,
            gint64   pad,
            GError **error)
{
  ImpRecording *rec = run->recording;
  g_autofree float *buf = g_new (float, (gsize) (block + block / 2
                                                 + 2 * pad));
  guint c, s, b;

  for (c = 0; c < run->n_channels; c++)
    {
      if (g_strcmp0 (imp_recording_get_channel (rec, c)->unit, "pA") != 0)
        continue;
      for (s = 0; s < imp_recording_get_n_sweeps (rec); s++)
        {
          const ImpSweep *sweep = imp_recording_get_sweep (rec, s);
          gint64 sweep_end = sweep->start_sample + sweep->n_samples;
          g_autoptr(GArray) blocks = sweep_blocks (sweep, block);

          for (b = 0; b < blocks->len; b += 2)
            {
              gint64 t0 = g_array_index (blocks, gint64, b);
              gint64 t1 = g_array_index (blocks, gint64, b + 1);
              gint64 r0 = MAX (sweep->start_sample, t0 - pad);
              gint64 r1 = MIN (sweep_end, t1 + pad);
              g_autoptr(GArray) found = g_array_new (FALSE, FALSE,
                                                     sizeof (gint64));
              guint k;

              if (g_cancellable_set_error_if_cancelled (run->cancellable,
                                                        error)
                  || !imp_recording_read (rec, c, 1, r0, r1 - r0, buf, error))
                return FALSE;
              imp_detect_steps (buf, (gsize) (r1 - r0), run->fs, r0, found);
              for (k = 0; k < found->len; k++)
                {
                  gint64 at = g_array_index (found, gint64, k);

                  if (at >= t0 && at < t1)
                    g_array_append_val (run->steps, at);
                }
            }
        }
    }

  g_array_sort (run->steps, compare_gint64);
  if (run->steps->len > 0)
    g_debug ("%u current steps", run->steps->len);
  return TRUE;
}

/* Reads the recording once, in the order it is stored, and detects on
 * every block of every channel on the stream's workers (imp-stream.c). */
static gboolean
detect_all (Run     *run,
            GError **error)
{
  g_autoptr(ImpStream) stream = NULL;
  ImpStreamStats stats;
  gint64 block, pad;
  gint64 start = g_get_monotonic_time ();

  block = (gint64) ceil (BLOCK_MIN_S * run->fs / BLOCK_ALIGN) * BLOCK_ALIGN;
  pad = ms_to_samples (PAD_MS, run->fs);
  if (!find_steps (run, block, pad, error))
    return FALSE;

  stream = imp_stream_new (run->recording, block, pad, pad);
  if (!imp_stream_run (stream, detect_block_cb, run, detect_progress_cb, run,
                       run->cancellable, error))
    return FALSE;
  imp_stream_get_stats (stream, &stats);
  g_debug ("Read %" G_GUINT64_FORMAT " %s (%.1f MB as stored) in %.2f s "
           "with %u workers, %.0f MB of buffers", stats.chunks_read,
           stats.direct ? "chunks" : "group rows", stats.bytes_read / 1e6,
           (g_get_monotonic_time () - start) / 1e6, stats.n_workers,
           stats.buffer_bytes / 1e6);
  return TRUE;
}

static double
median_of (GArray *values)
{
  g_autofree float *work = NULL;
  guint i;

  if (values->len == 0)
    return NAN;
  work = g_new (float, values->len);
  for (i = 0; i < values->len; i++)
    work[i] = g_array_index (values, float, i);
  return imp_detect_median (work, values->len);
}

/* A line of the run's warning: @what, then the labels of @channels (at
 * most ten of them, then how many more). */
static void
warn_channels (GString    *warning,
               GArray     *channels,
               char      **labels,
               const char *what)
{
  guint i;

  if (channels->len == 0)
    return;
  if (warning->len > 0)
    g_string_append_c (warning, '\n');
  g_string_append_printf (warning, "%s: ", what);
  for (i = 0; i < channels->len && i < 10; i++)
    g_string_append_printf (warning, "%s%s", i > 0 ? ", " : "",
                            labels[g_array_index (channels, guint, i)]);
  if (channels->len > 10)
    g_string_append_printf (warning, " and %u more", channels->len - 10);
}

/* The access of channel @c from its events and samples, with its note.
 * Channels without a signal (no usable sample, or every sample the same)
 * have no access; currents are not analysed. */
static ImpAccess
classify_channel (Run   *run,
                  guint  c,
                  char **note)
{
  const ImpChannel *ch = imp_recording_get_channel (run->recording, c);
  const ChannelStats *st = &run->stats[c];
  ImpAnalysisResult *res = run->result;
  ImpAccess access;

  access = imp_detect_classify_access (ch->unit, res->aps[c]->len,
                                       res->median_mv[c]);
  if (access == IMP_ACCESS_UNKNOWN)
    *note = g_strcmp0 (ch->unit, "pA") == 0
            ? g_strdup ("current (pA), not a membrane potential: "
                        "not analysed")
            : g_strdup_printf ("unit “%s” is not a voltage: not analysed",
                               ch->unit);
  else if (st->n_usable == 0)
    {
      access = IMP_ACCESS_NONE;
      *note = g_strdup ("no signal: every sample is NaN, infinite or "
                        "out of range");
    }
  else if (st->lowest == st->highest)
    {
      access = IMP_ACCESS_NONE;
      *note = g_strdup_printf ("no signal: flat at %g%s%s", st->lowest,
                               ch->unit != NULL && *ch->unit ? " " : "",
                               ch->unit != NULL ? ch->unit : "");
    }
  else if (st->n_gaps > 0)
    *note = g_strdup_printf ("%" G_GINT64_FORMAT " samples NaN, infinite "
                             "or out of range (%.2g %%), left out as gaps",
                             st->n_gaps,
                             100.0 * st->n_gaps
                             / (double) (st->n_gaps + st->n_usable));
  else
    *note = g_strdup ("");

  return access;
}

static void
summarise_channels (Run *run)
{
  ImpAnalysisResult *res = run->result;
  g_autoptr(GArray) no_signal = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) flat = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) gaps = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GString) warning = g_string_new (NULL);
  guint c, k;

  for (c = 0; c < run->n_channels; c++)
    {
      const ImpChannel *ch = imp_recording_get_channel (run->recording, c);
      const ChannelStats *st = &run->stats[c];

      res->labels[c] = g_strdup (ch->label != NULL ? ch->label : "");
      res->median_mv[c] = median_of (run->levels[c]);
      res->noise_mv[c] = median_of (run->noises[c]);
      res->access[c] = classify_channel (run, c, &res->notes[c]);

      if (imp_detect_is_voltage (ch->unit) && st->n_usable == 0)
        g_array_append_val (no_signal, c);
      else if (imp_detect_is_voltage (ch->unit) && res->access[c]
                                                   == IMP_ACCESS_NONE)
        g_array_append_val (flat, c);
      else if (st->n_gaps > 0)
        g_array_append_val (gaps, c);

      /* Events only where there is a membrane potential: PSPs need
       * intracellular access (an extracellular or dead channel's
       * "PSPs" are noise), and a channel with APs has it. */
      if (res->access[c] != IMP_ACCESS_INTRACELLULAR)
        {
          g_array_set_size (res->aps[c], 0);
          g_array_set_size (res->psps[c], 0);
        }

      run->ap_times[c] = g_array_sized_new (FALSE, FALSE, sizeof (gint64),
                                            res->aps[c]->len);
      for (k = 0; k < res->aps[c]->len; k++)
        {
          gint64 t = g_array_index (res->aps[c], ImpEvent, k).sample;

          g_array_append_val (run->ap_times[c], t);
        }
    }

  warn_channels (warning, no_signal, res->labels,
                 "Not analysed, every sample NaN, infinite or out of range");
  warn_channels (warning, flat, res->labels,
                 "Not analysed, flat (no signal)");
  warn_channels (warning, gaps, res->labels,
                 "Samples NaN, infinite or out of range, left out as gaps");
  if (warning->len > 0)
    res->warning = g_string_free (g_steal_pointer (&warning), FALSE);
}

/* Stage 2 */

typedef struct
{
  guint    n;            /* usable presynaptic APs */
  gint64  *times;        /* n */
  gint32  *jitter;       /* n_surrogates × n lags */
  guint    n_surrogates;
  gint64   max_jitter;
  /* scratch for one test: post events near each AP, as lags */
  GArray  *lags;         /* gint64 */
  guint   *first;        /* n + 1: AP i's lags are [first[i], first[i+1]) */
} PreTrain;

static void
pre_train_clear (PreTrain *pt)
{
  g_clear_pointer (&pt->times, g_free);
  g_clear_pointer (&pt->jitter, g_free);
  g_clear_pointer (&pt->first, g_free);
  g_clear_pointer (&pt->lags, g_array_unref);
}

static gsl_rng *
pre_rng (guint64 seed,
         guint   pre)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  guint64 z = seed * 0x9e3779b97f4a7c15ull + pre + 1;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  gsl_rng_set (rng, (unsigned long) ((z ^ (z >> 32)) & 0xffffffffu));
  return rng;
}

/* Whether the test window [t + lo, t + hi] of an AP at @t lies in its
 * sweep; if so, its sweep's bounds. */
static gboolean
ap_window_in_sweep (Run    *run,
                    gint64  t,
                    gint64  lo,
                    gint64  hi,
                    gint64 *s0,
                    gint64 *s1)
{
  const ImpSweep *sw;

  sw = imp_recording_get_sweep (run->recording,
                                imp_recording_sweep_at (run->recording, t));
  *s0 = sw->start_sample;
  *s1 = sw->start_sample + sw->n_samples;
  return t + lo >= *s0 && t + hi < *s1;
}

/* The pre APs whose whole test window [t + lo, t + hi] lies in their
 * sweep, and for each surrogate a uniform integer lag for each of them
 * within ±J, shortened so that the moved window stays in the sweep. */
static void
pre_train_init (Run      *run,
                guint     pre,
                gint64    lo,
                gint64    hi,
                PreTrain *pt)
{
  GArray *aps = run->ap_times[pre];
  gint64 jitter = MAX (1, ms_to_samples (run->params->jitter_ms, run->fs));
  g_autoptr(gsl_rng) rng = pre_rng (run->params->seed, pre);
  g_autofree gint64 *dmin = NULL;
  g_autofree gint64 *dmax = NULL;
  guint k, i;

  memset (pt, 0, sizeof *pt);
  pt->n_surrogates = run->params->n_surrogates;
  pt->max_jitter = jitter;
  pt->times = g_new (gint64, MAX (aps->len, 1));
  pt->first = g_new (guint, aps->len + 1);
  pt->lags = g_array_new (FALSE, FALSE, sizeof (gint64));
  dmin = g_new (gint64, MAX (aps->len, 1));
  dmax = g_new (gint64, MAX (aps->len, 1));

  for (k = 0; k < aps->len; k++)
    {
      gint64 t = g_array_index (aps, gint64, k);
      gint64 s0, s1;

      if (!ap_window_in_sweep (run, t, lo, hi, &s0, &s1))
        continue;
      dmin[pt->n] = MAX (-jitter, s0 - (t + lo));
      dmax[pt->n] = MIN (jitter, s1 - 1 - (t + hi));
      pt->times[pt->n++] = t;
    }

  pt->jitter = g_new (gint32, (gsize) pt->n_surrogates * MAX (pt->n, 1));
  for (i = 0; i < pt->n_surrogates; i++)
    for (k = 0; k < pt->n; k++)
      {
        gint64 span = dmax[k] - dmin[k] + 1;

        pt->jitter[(gsize) i * pt->n + k]
          = (gint32) (dmin[k] + (gint64) gsl_rng_uniform_int (rng,
                                                 (unsigned long) span));
      }
}

/* Whether a post event counts in a test: PSPs of the test's sign, as
 * detection signed them, or every AP for the AP->AP test. */
static inline gboolean
event_in_test (const ImpEvent *ev,
               TestKind        kind)
{
  return kind == TEST_AP || (ev->amplitude > 0) == (kind == TEST_E);
}

/* The first index into sorted @v whose sample is >= @key. */
static inline guint
event_lower_bound (const ImpEvent *v,
                   guint           n,
                   gint64          key)
{
  guint lo = 0, hi = n;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if ((gint64) v[mid].sample < key)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* The first index at or after @from into sorted @v whose sample is >=
 * @key, when none before @from is: a search that starts where the last
 * one ended, doubling its step, costs the logarithm of the distance moved
 * rather than of the whole array. */
static inline guint
lower_bound_from (const ImpEvent *v,
                  guint           n,
                  guint           from,
                  gint64          key)
{
  guint step = 1, lo = from, hi;

  if (from >= n || (gint64) v[from].sample >= key)
    return from;
  while (from + step < n && (gint64) v[from + step].sample < key)
    {
      lo = from + step;
      step *= 2;
    }
  hi = MIN (from + step, n);
  return lo + 1 + event_lower_bound (v + lo + 1, hi - lo - 1, key);
}

/* The counts of one post channel's events against every presynaptic
 * channel at once: for each usable pre AP at t (@aps, all channels' in
 * time order), the events within [t + lo, t + hi] (coincidences) and
 * within the jitter's reach [t + lo - J, t + hi + J], added to the AP's
 * channel. As the APs come in time order, one pointer walks the events
 * forward: the cost is that of the APs and events, with no search. With
 * @by_sign the PSPs of both signs are counted in the one walk, into
 * @observed[0] and @reach[0] (TEST_E) or [1] (TEST_I); otherwise every
 * event into [0]. */
typedef struct
{
  guint32 t;           /* 8 bytes in all: every AP of every pre */
  guint32 pre;         /* index among the presynaptic channels */
} PreAp;

static void
count_all_pres (const PreAp  *aps,
                gsize         n_aps,
                GArray       *post,
                gboolean      by_sign,
                gint64        lo,
                gint64        hi,
                gint64        jitter,
                guint32     **observed,
                guint32     **reach)
{
  const ImpEvent *events = (const ImpEvent *) post->data;
  guint n = post->len, at = 0;
  gsize i;

  for (i = 0; i < n_aps && at < n; i++)
    {
      gint64 t = aps[i].t;
      guint32 r[2] = { 0, 0 }, o[2] = { 0, 0 };
      guint s;

      while (at < n && events[at].sample < t + lo - jitter)
        at++;
      for (guint e = at; e < n && events[e].sample <= t + hi + jitter; e++)
        {
          gint64 lag = (gint64) events[e].sample - t;

          s = by_sign && !(events[e].amplitude > 0);
          r[s]++;
          o[s] += lag >= lo && lag <= hi;
        }
      for (s = 0; s < (by_sign ? 2u : 1u); s++)
        {
          reach[s][aps[i].pre] += r[s];
          observed[s][aps[i].pre] += o[s];
        }
    }
}

/* The same counts for one pair (what count_all_pres() adds up for it),
 * over the pre train's APs, which are the same APs. */
static void
count_pair (const PreTrain *pt,
            GArray         *post,
            TestKind        kind,
            gint64          lo,
            gint64          hi,
            guint64        *observed,
            guint64        *reach)
{
  const ImpEvent *events = (const ImpEvent *) post->data;
  guint32 o = 0, r = 0;
  guint k, e, at = 0;

  for (k = 0; k < pt->n; k++)
    {
      gint64 t = pt->times[k];

      at = lower_bound_from (events, post->len, at, t + lo - pt->max_jitter);
      for (e = at; e < post->len
                   && events[e].sample <= t + hi + pt->max_jitter; e++)
        if (event_in_test (&events[e], kind))
          {
            gint64 lag = (gint64) events[e].sample - t;

            r++;
            o += lag >= lo && lag <= hi;
          }
    }
  *observed = o;
  *reach = r;
}

/* One test of a pair, from its coincidences (@observed) and the events
 * within the jitter's reach (@reach, count_all_pres()): their mean under
 * uniform jitter, and (unless clearly unremarkable) the surrogate p-value.
 * @post holds the post channel's events (ImpEvent); those that count in
 * the test (event_in_test()) are used.
 *
 * For the surrogates, the post events within the jitter's reach
 * [t + lo - J, t + hi + J] of each pre AP are collected once as lags; a
 * surrogate's count is then the number of lags l with lo <= l - d <= hi
 * for the AP's jitter d, which costs the number of nearby events rather
 * than two searches per AP. The analytic jitter mean counts every event
 * within reach with probability (hi - lo + 1) / (2J + 1) (exact away from
 * sweep edges). */
static void
run_test (PreTrain       *pt,
          GArray         *post,
          gint64          lo,
          gint64          hi,
          guint64         observed,
          guint64         reach,
          double          screen_p,
          guint64        *surrogates,
          PairTest       *test,
          TestKind        kind)
{
  const ImpEvent *events = (const ImpEvent *) post->data;
  const gint64 *lags;
  double quick, p_quick, sum = 0;
  guint i, k, at = 0;

  quick = (double) reach * (hi - lo + 1) / (2.0 * pt->max_jitter + 1);
  test->hits[kind] = (guint) observed;
  test->null_mean[kind] = quick;

  if (observed == 0)
    {
      test->p[kind] = 1.0;
      return;
    }
  /* Screened out when the tail with the lowered mean is above screen_p.
   * The same decisions with fewer tails: the tail with the full mean is
   * never below it, so when that is already at most screen_p the pair is
   * not screened out; and a count at most the lowered mean's median
   * (which is at least the mean less ln 2) has a tail of at least 1/2. */
  p_quick = gsl_cdf_poisson_Q ((unsigned int) (observed - 1), quick);
  if (p_quick > screen_p
      && ((screen_p < 0.5
           && (double) observed <= quick * SCREEN_MARGIN - G_LN2)
          || gsl_cdf_poisson_Q ((unsigned int) (observed - 1),
                                quick * SCREEN_MARGIN) > screen_p))
    {
      test->p[kind] = p_quick;
      return;
    }

  /* The lags of the post events within the jitter's reach of each AP. */
  g_array_set_size (pt->lags, 0);
  for (k = 0; k < pt->n; k++)
    {
      gint64 t = pt->times[k];
      guint e;

      /* The APs are in time order, so each search starts at the last. */
      at = lower_bound_from (events, post->len, at,
                             t + lo - pt->max_jitter);
      e = at;
      pt->first[k] = pt->lags->len;
      for (; e < post->len
             && events[e].sample <= t + hi + pt->max_jitter; e++)
        if (event_in_test (&events[e], kind))
          {
            gint64 lag = (gint64) events[e].sample - t;

            g_array_append_val (pt->lags, lag);
          }
    }
  pt->first[pt->n] = pt->lags->len;
  lags = (const gint64 *) pt->lags->data;

  for (i = 0; i < pt->n_surrogates; i++)
    {
      const gint32 *d = pt->jitter + (gsize) i * pt->n;
      guint64 count = 0;

      for (k = 0; k < pt->n; k++)
        {
          gint64 from = lo + d[k], to = hi + d[k];
          guint j;

          for (j = pt->first[k]; j < pt->first[k + 1]; j++)
            count += lags[j] >= from && lags[j] <= to;
        }
      surrogates[i] = count;
      sum += (double) count;
    }
  test->p[kind] = imp_detect_surrogate_p (observed, surrogates,
                                          pt->n_surrogates);
  test->null_mean[kind] = sum / pt->n_surrogates;
}

/* The three tests of the pair (pre of @pt, @post) from its counts. */
static void
test_pair (Run            *run,
           PreTrain       *pt,
           guint           post,
           const guint64  *observed,
           const guint64  *reach,
           guint64        *surrogates,
           PairTest       *test)
{
  ImpAnalysisResult *res = run->result;
  TestKind kind;

  for (kind = 0; kind < N_TESTS; kind++)
    run_test (pt, kind == TEST_AP ? res->aps[post] : res->psps[post],
              run->lo, kind == TEST_AP ? run->ap_hi : run->hi,
              observed[kind], reach[kind], run->screen_p, surrogates, test,
              kind);
  test->p_event = MIN (1.0, 2.0 * MIN (test->p[TEST_E], test->p[TEST_I]));
  test->p_pair = test->p_event;
}

typedef struct
{
  Run      *run;
  guint    *pres;       /* the presynaptic channels, in order */
  guint     n_pre;
  guint    *n_usable;   /* per presynaptic channel: its usable APs */
  /* the counts, made post channel by post channel first */
  PreAp    *aps;        /* every usable pre AP, in time order */
  gsize     n_aps;
  guint    *posts;      /* the postsynaptic channels, in order */
  guint     n_post;
  guint32  *counts;     /* n_post × N_TESTS × 2 (coincidences, reach)
                           × n_pre */
} CorrelateJob;

static inline guint32 *
job_counts (CorrelateJob *job,
            guint         post_index,
            TestKind      kind,
            guint         which)
{
  return job->counts + (((gsize) post_index * N_TESTS + kind) * 2 + which)
                       * job->n_pre;
}

/* The counts of one postsynaptic channel against every presynaptic
 * channel, for the three tests: both signs of PSPs in one walk. */
static void
count_item (gpointer data,
            guint    item)
{
  CorrelateJob *job = data;
  Run *run = job->run;
  ImpAnalysisResult *res = run->result;
  guint post = job->posts[item];
  guint32 *observed[2] = { job_counts (job, item, TEST_E, 0),
                           job_counts (job, item, TEST_I, 0) };
  guint32 *reach[2] = { job_counts (job, item, TEST_E, 1),
                        job_counts (job, item, TEST_I, 1) };
  guint32 *ap_observed = job_counts (job, item, TEST_AP, 0);
  guint32 *ap_reach = job_counts (job, item, TEST_AP, 1);

  count_all_pres (job->aps, job->n_aps, res->psps[post], TRUE, run->lo,
                  run->hi, run->jitter, observed, reach);
  count_all_pres (job->aps, job->n_aps, res->aps[post], FALSE, run->lo,
                  run->ap_hi, run->jitter, &ap_observed, &ap_reach);
}

static int
compare_pre_aps (const void *a,
                 const void *b)
{
  const PreAp *pa = a;
  const PreAp *pb = b;

  if (pa->t != pb->t)
    return pa->t < pb->t ? -1 : 1;
  return (pa->pre > pb->pre) - (pa->pre < pb->pre);
}

/* Every presynaptic channel's usable APs (as pre_train_init() picks
 * them), merged in time order, and how many each channel has. */
static void
collect_pre_aps (CorrelateJob *job)
{
  Run *run = job->run;
  GArray *all = g_array_new (FALSE, FALSE, sizeof (PreAp));
  gint64 lo = MIN (run->lo, 0), hi = MAX (run->hi, run->ap_hi);
  guint i, k;

  job->n_usable = g_new0 (guint, MAX (job->n_pre, 1));
  for (i = 0; i < job->n_pre; i++)
    {
      GArray *aps = run->ap_times[job->pres[i]];

      for (k = 0; k < aps->len; k++)
        {
          PreAp a = { (guint32) g_array_index (aps, gint64, k), i };
          gint64 s0, s1;

          if (ap_window_in_sweep (run, a.t, lo, hi, &s0, &s1))
            {
              g_array_append_val (all, a);
              job->n_usable[i]++;
            }
        }
    }
  qsort (all->data, all->len, sizeof (PreAp), compare_pre_aps);
  job->n_aps = all->len;
  job->aps = (PreAp *) g_array_free (all, FALSE);
}

/* All tests with one presynaptic channel; only the p-values are kept
 * (at the pairs' slots). */
static void
correlate_item (gpointer data,
                guint    item)
{
  CorrelateJob *job = data;
  Run *run = job->run;
  guint pre = job->pres[item];
  gsize slot = run->first_slot[pre];
  g_autofree guint64 *surrogates = NULL;
  PreTrain pt;
  guint q;

  if (slot == G_MAXSIZE)
    return;
  surrogates = g_new (guint64, run->params->n_surrogates);
  pre_train_init (run, pre, MIN (run->lo, 0), MAX (run->hi, run->ap_hi),
                  &pt);
  g_assert (pt.n == job->n_usable[item]);
  for (q = 0; q < job->n_post; q++)
    {
      guint post = job->posts[q];
      guint64 observed[N_TESTS], reach[N_TESTS];
      PairTest test = { 0 };
      TestKind kind;

      if (post == pre)
        continue;
      for (kind = 0; kind < N_TESTS; kind++)
        {
          observed[kind] = job_counts (job, q, kind, 0)[item];
          reach[kind] = job_counts (job, q, kind, 1)[item];
        }
      test_pair (run, &pt, post, observed, reach, surrogates, &test);
      run->p_pair[slot] = test.p_event;
      run->p_ap[slot] = test.p[TEST_AP];
      slot++;
    }
  pre_train_clear (&pt);
}

/* Counting takes most of the correlation's time, the tests the rest. */
#define PROGRESS_COUNTING 0.8

static void
count_progress (gpointer data,
                guint    finished)
{
  CorrelateJob *job = data;

  report (job->run,
          PROGRESS_DETECT + 0.5 * PROGRESS_PAIRS * PROGRESS_COUNTING * finished
                            / MAX (job->n_post, 1),
          "Correlating pairs");
}

static void
correlate_progress (gpointer data,
                    guint    finished)
{
  CorrelateJob *job = data;

  report (job->run,
          PROGRESS_DETECT + 0.5 * PROGRESS_PAIRS
                            * (PROGRESS_COUNTING + (1 - PROGRESS_COUNTING)
                                                   * finished
                                                   / MAX (job->n_pre, 1)),
          "Correlating pairs");
}

/* The slot of the pair (@pre, @post), or G_MAXSIZE when it was not
 * tested. */
static gsize
pair_slot (Run   *run,
           guint  pre,
           guint  post)
{
  guint q, q_pre;

  if (pre >= run->n_channels || post >= run->n_channels || pre == post
      || run->first_slot[pre] == G_MAXSIZE
      || run->post_index[post] == G_MAXUINT)
    return G_MAXSIZE;
  q = run->post_index[post];
  q_pre = run->post_index[pre];
  return run->first_slot[pre] + q - (q > q_pre);
}

/* The event tests of every ordered pair: a presynaptic channel with at
 * least min_pre_aps usable APs, a post with intracellular access. Each
 * pair's two p-values (event counts, AP->AP) go to its slot: 16 bytes a
 * pair, whatever the duration. */
static gboolean
correlate_all (Run     *run,
               GError **error)
{
  const ImpAnalysisParams *p = run->params;
  ImpAnalysisResult *res = run->result;
  CorrelateJob job = { run };
  guint pre, i;

  run->lo = (gint64) ceil (p->latency_min_ms * run->fs / 1000.0);
  run->hi = (gint64) floor (p->latency_max_ms * run->fs / 1000.0);
  run->ap_hi = (gint64) floor (p->window_post_ms * run->fs / 1000.0);
  /* Surrogates only where the p-value could matter: a pair above both
   * alpha and candidate_p_max is neither significant nor listed. */
  run->screen_p = MAX (SCREEN_P_MIN, MAX (p->alpha, p->candidate_p_max));
  run->jitter = MAX (1, ms_to_samples (p->jitter_ms, run->fs));
  job.pres = g_new (guint, MAX (run->n_channels, 1));
  for (pre = 0; pre < run->n_channels; pre++)
    if (res->access[pre] == IMP_ACCESS_INTRACELLULAR
        && res->aps[pre]->len >= MAX (p->min_pre_aps, 1))
      job.pres[job.n_pre++] = pre;
  job.posts = g_new (guint, MAX (run->n_channels, 1));
  run->post_index = g_new (guint, MAX (run->n_channels, 1));
  for (i = 0; i < run->n_channels; i++)
    {
      run->post_index[i] = G_MAXUINT;
      if (res->access[i] == IMP_ACCESS_INTRACELLULAR)
        {
          run->post_index[i] = job.n_post;
          job.posts[job.n_post++] = i;
        }
    }
  run->n_posts = job.n_post;
  collect_pre_aps (&job);

  /* The slots: a presynaptic channel with enough usable APs is tested
   * against every other post (a pre has intracellular access, so it is
   * a post too). */
  run->first_slot = g_new (gsize, MAX (run->n_channels, 1));
  for (i = 0; i < run->n_channels; i++)
    run->first_slot[i] = G_MAXSIZE;
  for (i = 0; i < job.n_pre; i++)
    if (job.n_usable[i] >= MAX (p->min_pre_aps, 1))
      {
        run->first_slot[job.pres[i]] = run->n_pairs;
        run->n_pairs += job.n_post - 1;
      }
  run->p_pair = g_new (double, MAX (run->n_pairs, 1));
  run->p_ap = g_new (double, MAX (run->n_pairs, 1));

  job.counts = g_new0 (guint32, (gsize) job.n_post * N_TESTS * 2
                                * MAX (job.n_pre, 1));
  parallel_for (job.n_post, count_item, &job, run->cancellable,
                count_progress, &job);
  parallel_for (job.n_pre, correlate_item, &job, run->cancellable,
                correlate_progress, &job);

  g_free (job.pres);
  g_free (job.posts);
  g_free (job.n_usable);
  g_free (job.aps);
  g_free (job.counts);
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

static void
wave_progress (double      fraction,
               const char *stage,
               gpointer    user_data)
{
  report (user_data, PROGRESS_DETECT + PROGRESS_PAIRS * (0.5 + 0.5 * fraction),
          "Correlating pairs");
}

/* Keeps the pair at @slot as a PairTest when it may become a candidate:
 * a p-value below candidate_p_max (measure_all()), or one at most alpha
 * (a q-value at most alpha needs it). @wave is its waveform test, if
 * any; @p_event the event counts' p. */
static void
keep_if_candidate (Run              *run,
                   gsize             slot,
                   guint             pre,
                   guint             post,
                   double            p_event,
                   const ImpPscTest *wave)
{
  const ImpAnalysisParams *p = run->params;
  double p_pair = wave != NULL ? wave->p : p_event;
  double p_ap = run->p_ap[slot];
  PairTest t = { 0 };

  if (p_pair >= p->candidate_p_max && p_event >= p->candidate_p_max
      && p_ap >= p->candidate_p_max && !(p_pair <= p->alpha)
      && !(p_ap <= p->alpha))
    return;
  t.pre = pre;
  t.post = post;
  t.slot = slot;
  t.p_event = p_event;
  t.p_pair = p_pair;
  t.p[TEST_AP] = p_ap;
  if (wave != NULL)
    t.wave = *wave;
  g_array_append_val (run->tests, t);
}

static int
compare_slots (gconstpointer a,
               gconstpointer b)
{
  gsize sa = ((const PairTest *) a)->slot;
  gsize sb = ((const PairTest *) b)->slot;

  return (sa > sb) - (sa < sb);
}

typedef struct
{
  Run    *run;
  guint8 *judged;   /* bit per slot */
} Waves;

/* A group of posts' waveform tests, as they are judged. */
static void
take_waves (const ImpPscTest *waves,
            guint             n_waves,
            gpointer          data)
{
  Waves *wv = data;
  Run *run = wv->run;
  guint i;

  for (i = 0; i < n_waves; i++)
    {
      const ImpPscTest *w = &waves[i];
      gsize slot = pair_slot (run, w->pre, w->post);

      if (slot == G_MAXSIZE || (wv->judged[slot / 8] & (1u << (slot % 8))))
        continue;
      wv->judged[slot / 8] |= (guint8) (1u << (slot % 8));
      keep_if_candidate (run, slot, w->pre, w->post, run->p_pair[slot], w);
      run->p_pair[slot] = w->p;
    }
}

/* The waveform test of every tested pair; its p becomes the pair's
 * AP->PSP p-value, the event counts' p is kept beside it for the pairs
 * that may become candidates (PairTest); the others keep only the two
 * p-values that the correction needs. */
static gboolean
wave_all (Run     *run,
          GError **error)
{
  ImpAnalysisResult *res = run->result;
  g_autofree gboolean *is_pre = g_new0 (gboolean, run->n_channels);
  g_autofree gboolean *is_post = g_new0 (gboolean, run->n_channels);
  g_autofree guint8 *judged = g_new0 (guint8, run->n_pairs / 8 + 1);
  Waves wv = { run, judged };
  guint c, q;

  for (c = 0; c < run->n_channels; c++)
    {
      is_pre[c] = run->first_slot[c] != G_MAXSIZE && run->n_posts > 1;
      is_post[c] = res->access[c] == IMP_ACCESS_INTRACELLULAR;
    }

  if (!imp_psc_run (run->recording, run->params, run->ap_times, is_pre,
                    is_post, take_waves, &wv, wave_progress, run,
                    run->cancellable, error))
    return FALSE;

  /* Pairs without a waveform test keep the event counts' p. */
  for (c = 0; c < run->n_channels; c++)
    {
      gsize slot = run->first_slot[c];

      for (q = 0; slot != G_MAXSIZE && q < run->n_channels; q++)
        if (q != c && run->post_index[q] != G_MAXUINT)
          {
            if (!(judged[slot / 8] & (1u << (slot % 8))))
              keep_if_candidate (run, slot, c, q, run->p_pair[slot], NULL);
            slot++;
          }
    }
  g_array_sort (run->tests, compare_slots);
  return TRUE;
}

/* Benjamini-Hochberg over every tested pair, on the p-values at the
 * slots (replaced by the q-values in place, then freed). */
static void
correct_all (Run *run)
{
  gsize i;

  imp_detect_bh_adjust (run->p_pair, run->n_pairs, run->p_pair);
  for (i = 0; i < run->tests->len; i++)
    {
      PairTest *t = &g_array_index (run->tests, PairTest, i);

      t->q_pair = run->p_pair[t->slot];
    }
  g_clear_pointer (&run->p_pair, g_free);

  imp_detect_bh_adjust (run->p_ap, run->n_pairs, run->p_ap);
  for (i = 0; i < run->tests->len; i++)
    {
      PairTest *t = &g_array_index (run->tests, PairTest, i);

      t->q_ap = run->p_ap[t->slot];
    }
  g_clear_pointer (&run->p_ap, g_free);

  run->result->n_pairs_tested = run->n_pairs;
}

/* Stage 3 */

static gboolean
window_fits (ImpRecording *rec,
             gint64        start,
             gint64        len)
{
  const ImpSweep *sw;

  if (start < 0 || start + len > imp_recording_get_n_samples (rec))
    return FALSE;
  sw = imp_recording_get_sweep (rec, imp_recording_sweep_at (rec, start));
  return start + len <= sw->start_sample + sw->n_samples;
}

/* One candidate's sums while it is measured. */
typedef struct
{
  guint8 *use;         /* bit per pre AP: its window is a trial */
  double *sums;        /* average_len: sum over the trials used */
  double  shift[2];    /* pre-AP shift over the trials: sum, sum of squares */
  guint8 *gap;         /* bit per trial: its window touches a gap, left
                          out */
  guint   n_windows;   /* trials with a window, those left out included */
  guint   next;        /* trials met so far in this pass */
  gint64  peak;        /* index of the average's extreme */
  double *template_w;  /* the template fit's weights (template_fit ()) */
  gint64  template_len;
  float  *windows;     /* n_windows × len: the trials kept from the first
                          pass for the second, or NULL */
  guint8 *isolated;    /* bit per pre AP: no other from
                          IMP_ANALYSIS_ISOLATION_MS before it to the end
                          of its window */
  double *iso_sums;    /* average_len: sum over the isolated trials used */
  guint   n_iso;
} Accum;

/* The candidates' windows, read in two passes over the blocks that hold
 * them: the sums for the averages, then each trial's amplitude. */
typedef struct
{
  Run           *run;
  ImpStream     *stream;
  ImpCandidate **cands;       /* sorted by post channel */
  Accum         *accums;      /* one per candidate */
  guint         *group_start; /* n_groups + 1: each group's candidates */
  gint64         pre_len;
  gint64         len;
  gint64         half;
  gint64         late;        /* samples in the last ms before the AP */
  gboolean       amplitudes;  /* the second pass */
  double         progress_from;
  float         *windows;     /* every candidate's Accum.windows */
} Measure;

/* First pass: the sum of the trials, leaving out those whose window
 * touches a gap (NaN or infinite samples). */
static void
accumulate_trial (Accum       *acc,
                  guint        trial,
                  gboolean     isolated,
                  const float *x,
                  gint64       len)
{
  gint64 k;

  if (imp_detect_count_gaps (x, (gsize) len) > 0)
    {
      acc->gap[trial / 8] |= (guint8) (1u << (trial % 8));
      return;
    }
  for (k = 0; k < len; k++)
    acc->sums[k] += x[k];
  if (!isolated)
    return;
  for (k = 0; k < len; k++)
    acc->iso_sums[k] += x[k];
  acc->n_iso++;
}

/* The quantal amplitude of a trial: the trial, over the whole window, as
 * a level, a linear trend and a multiple of the average (the template),
 * by least squares; the multiple of the average's amplitude is the
 * trial's amplitude. Using the whole PSP and not a few samples at its
 * peak makes it several times less noisy, which resolving quanta needs;
 * the trend takes up the decay of an earlier PSP and drift. The weights
 * that turn a trial into its amplitude are the same for all trials of a
 * candidate and are computed once. */
static void
template_weights (ImpCandidate *c,
                  Accum        *acc)
{
  gint64 n = c->average_len;
  double m[3][3] = { { 0 } }, adj[3], det;
  gint64 k;
  int i, j;

  acc->template_len = n;
  acc->template_w = g_new0 (double, MAX (n, 1));
  c->quantal_amplitudes = g_new (float, MAX (c->n_trials, 1));
  if (n < 4 || c->amplitude_mv == 0)
    return;
  for (k = 0; k < n; k++)
    {
      double r[3] = { 1.0, (k - n / 2.0) / n,
                      c->average[k] / c->amplitude_mv };

      for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++)
          m[i][j] += r[i] * r[j];
    }
  /* the last row of the adjugate of the normal matrix */
  adj[0] = m[1][0] * m[2][1] - m[1][1] * m[2][0];
  adj[1] = m[0][1] * m[2][0] - m[0][0] * m[2][1];
  adj[2] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  det = m[2][0] * adj[0] + m[2][1] * adj[1] + m[2][2] * adj[2];
  if (!(fabs (det) > 1e-9 * m[0][0] * m[1][1] * m[2][2]))
    return;
  for (k = 0; k < n; k++)
    acc->template_w[k] = (adj[0] + adj[1] * (k - n / 2.0) / n
                          + adj[2] * c->average[k] / c->amplitude_mv) / det;
}

static void
template_fit (Run          *run,
              ImpCandidate *c,
              gint64        ap,
              const float  *x,
              Accum        *acc,
              gint64        pre_len)
{
  GArray *aps = run->ap_times[c->pre];
  double a = 0;

  if (acc->template_w == NULL)
    template_weights (c, acc);
  /* the AP itself is the one event in the range */
  if (imp_detect_count_lagged (&ap, 1, (const gint64 *) aps->data, aps->len,
                               -ms_to_samples (IMP_ANALYSIS_ISOLATION_MS,
                                               run->fs),
                               c->average_len - pre_len) != 1)
    return;
  for (gint64 k = 0; k < acc->template_len; k++)
    a += acc->template_w[k] * x[k];
  if (a != 0)
    c->quantal_amplitudes[c->n_quantal_trials++] = (float) a;
}

/* Second pass, after the average: each trial's amplitude and its shift
 * before the AP. */
static void
measure_trial (Measure      *m,
               ImpCandidate *c,
               Accum        *acc,
               guint         trial,
               gint64        ap,
               const float  *x)
{
  gint64 peak = acc->peak;
  double base = 0, top = 0, early = 0, late = 0, d;
  gint64 k, n_top = 0, n_early = MAX (m->pre_len / 2, 1);

  if (acc->gap[trial / 8] & (1u << (trial % 8)))
    return;

  for (k = 0; k < m->pre_len; k++)
    base += x[k];
  base /= m->pre_len;

  /* How far the signal moved between the start of the window and the
   * last ms before the AP peak. */
  for (k = 0; k < n_early; k++)
    early += x[k];
  for (k = m->pre_len - m->late; k < m->pre_len; k++)
    late += x[k];
  d = late / m->late - early / n_early;
  acc->shift[0] += d;
  acc->shift[1] += d * d;

  for (k = MAX (peak - m->half, 0);
       k <= MIN (peak + m->half, (gint64) c->average_len - 1); k++)
    {
      top += x[k];
      n_top++;
    }
  c->trial_amplitudes[trial] = (float) (top / n_top - base);
  template_fit (m->run, c, ap, x, acc, m->pre_len);
}

/* On a stream worker: the trials of the group's candidates whose window
 * starts in the block. A group's blocks come in time order, so trials are
 * met in the order of their presynaptic APs. */
static void
measure_block_cb (const ImpStreamBlock *block,
                  gpointer              data)
{
  Measure *m = data;
  guint i;

  for (i = m->group_start[block->group];
       i < m->group_start[block->group + 1]; i++)
    {
      ImpCandidate *c = m->cands[i];
      Accum *acc = &m->accums[i];
      GArray *aps = m->run->ap_times[c->pre];
      const gint64 *t = (const gint64 *) aps->data;
      const float *row = block->samples
                         + (gsize) (c->post - block->first_channel)
                           * block->len;
      guint k;

      for (k = imp_detect_lower_bound (t, aps->len, block->t0 + m->pre_len);
           k < aps->len && t[k] - m->pre_len < block->t1; k++)
        {
          const float *x = row + (t[k] - m->pre_len - block->r0);
          guint trial;

          if (!(acc->use[k / 8] & (1u << (k % 8))))
            continue;
          trial = acc->next++;
          g_assert (t[k] - m->pre_len + m->len
                    <= block->r0 + (gint64) block->len);
          if (m->amplitudes)
            measure_trial (m, c, acc, trial, t[k], x);
          else
            {
              accumulate_trial (acc, trial,
                                (acc->isolated[k / 8] >> (k % 8)) & 1, x,
                                m->len);
              if (acc->windows != NULL)
                memcpy (acc->windows + (gsize) trial * m->len, x,
                        sizeof (float) * m->len);
            }
        }
    }
}

static void
measure_progress_cb (double   fraction,
                     gpointer data)
{
  Measure *m = data;
  double share = (1 - PROGRESS_DETECT - PROGRESS_PAIRS - PROGRESS_QUANTA) / 2;

  report (m->run, m->progress_from + share * fraction,
          "Measuring candidates");
}

/* When the candidates' trials take at most measure_keep_bytes (small
 * arrays), the first pass keeps them and the second reads no samples. */
static void
plan_keeping (Measure *m)
{
  guint n = m->run->result->candidates->len, i;
  gsize values = 0;

  for (i = 0; i < n; i++)
    values += (gsize) m->accums[i].n_windows * m->len;
  if (values == 0 || values * sizeof (float) > measure_keep_bytes)
    return;
  m->windows = g_try_new (float, values);
  for (i = 0, values = 0; m->windows != NULL && i < n; i++)
    {
      m->accums[i].windows = m->windows + values;
      values += (gsize) m->accums[i].n_windows * m->len;
    }
}

/* The second pass over one candidate's kept trials, in the order the
 * stream would meet them. */
static void
measure_kept_item (gpointer data,
                   guint    item)
{
  Measure *m = data;
  ImpCandidate *c = m->cands[item];
  Accum *acc = &m->accums[item];
  GArray *aps = m->run->ap_times[c->pre];
  const gint64 *t = (const gint64 *) aps->data;
  guint k, trial = 0;

  for (k = 0; k < aps->len; k++)
    if (acc->use[k / 8] & (1u << (k % 8)))
      {
        measure_trial (m, c, acc, trial, t[k],
                       acc->windows + (gsize) trial * m->len);
        trial++;
      }
  acc->next = trial;
}

static void
measure_kept_progress (gpointer data,
                       guint    finished)
{
  Measure *m = data;

  measure_progress_cb ((double) finished
                       / MAX (m->run->result->candidates->len, 1), m);
}

/* Moves the amplitudes of the trials used to the front. */
static void
drop_gap_trials (ImpCandidate *c,
                 const Accum  *acc)
{
  guint i, n = 0;

  for (i = 0; i < acc->n_windows; i++)
    if (!(acc->gap[i / 8] & (1u << (i % 8))))
      c->trial_amplitudes[n++] = c->trial_amplitudes[i];
  g_assert (n == c->n_trials);
  /* For a long recording these are most of a candidate's memory: no
   * room left over. */
  if (c->n_trials < acc->n_windows)
    c->trial_amplitudes = g_renew (float, c->trial_amplitudes,
                                   MAX (c->n_trials, 1));
  if (c->quantal_amplitudes != NULL)
    c->quantal_amplitudes = g_renew (float, c->quantal_amplitudes,
                                     MAX (c->n_quantal_trials, 1));
}

static gint64
extreme_index (const float *x,
               gint64       from,
               gint64       to,
               double       sign)
{
  gint64 k, best = from;

  for (k = from; k <= to; k++)
    if (sign * x[k] > sign * x[best])
      best = k;
  return best;
}

static double
smoothed_at (const float *x,
             gint64       len,
             gint64       at,
             gint64       half)
{
  double sum = 0;
  gint64 k, n = 0;

  for (k = MAX (at - half, 0); k <= MIN (at + half, len - 1); k++)
    {
      sum += x[k];
      n++;
    }
  return sum / MAX (n, 1);
}

/* @out = @sums / @n less its mean over the first @pre_len samples (the
 * baseline before the AP). */
static void
baseline_average (const double *sums,
                  guint         n,
                  gint64        len,
                  gint64        pre_len,
                  float        *out)
{
  double base = 0;
  gint64 k;

  for (k = 0; k < len; k++)
    out[k] = (float) (sums[k] / MAX (n, 1));
  for (k = 0; k < pre_len; k++)
    base += out[k];
  base /= pre_len;
  for (k = 0; k < len; k++)
    out[k] -= (float) base;
}

/* Baseline, sign, extreme, amplitude and onset of one candidate's average;
 * returns the peak index. The PSP's rise and decay come from the isolated
 * trials' average when there are at least KINETICS_MIN_TRIALS of them:
 * after a burst's first AP the later ones' PSPs add to the average, and
 * make a slow PSP's rise look slower still. The latency stays that of all
 * trials, whose average is less noisy where the PSP starts. */
static gint64
measure_average (Run          *run,
                 ImpCandidate *c,
                 const double *sums,
                 const double *iso_sums,
                 guint         n_iso,
                 gint64        pre_len)
{
  const ImpAnalysisParams *p = run->params;
  const PairTest *test = g_hash_table_lookup (run->cand_tests, c);
  double sign;
  gint64 len = c->average_len;
  gint64 from = pre_len + (gint64) ceil (p->latency_min_ms * run->fs / 1000);
  gint64 to = MIN (len - 1, pre_len + ms_to_samples (p->latency_max_ms
                                                     + PEAK_AFTER_MS,
                                                     run->fs));
  gint64 half = ms_to_samples (PEAK_HALF_MS, run->fs);
  gint64 k, peak;
  ImpPspFit fit;

  baseline_average (sums, c->n_trials, len, pre_len, c->average);

  /* The sign is that of the larger excursion of the average: a large EPSP
   * is followed by a steep decay that the event detector may count as
   * IPSPs, and bursts of presynaptic APs blur the counts, but the average
   * shows which way the postsynaptic cell moves. */
  sign = smoothed_at (c->average, len, extreme_index (c->average, from, to,
                                                      1.0), half)
         >= -smoothed_at (c->average, len,
                          extreme_index (c->average, from, to, -1.0), half)
         ? 1.0 : -1.0;
  /* The waveform test knows better: its sign is that of the synaptic
   * current with the presynaptic AP's crosstalk removed, and the peak
   * comes after the window it found; not so for a transient, whose
   * average is all the evidence there is. */
  if (test != NULL && test->wave.z != 0 && !test->wave.transient)
    {
      sign = test->wave.z > 0 ? 1.0 : -1.0;
      from = MIN (to, MAX (from, pre_len + (gint64) llround (
                    test->wave.delay_ms * run->fs / 1000)));
    }
  c->sign = sign > 0 ? 'E' : 'I';
  if (test != NULL)
    {
      TestKind kind = sign > 0 ? TEST_E : TEST_I;

      c->n_hits = test->hits[kind];
      c->null_mean = test->null_mean[kind];
    }

  peak = extreme_index (c->average, from, to, sign);
  c->amplitude_mv = smoothed_at (c->average, len, peak, half);
  imp_psp_fit (c->average, len, pre_len, run->fs, sign, p->latency_min_ms,
               p->latency_max_ms, &fit);
  c->fit = fit;
  c->latency_ms = fit.onset_ms;
  c->rise_ms = fit.rise_ms;
  c->decay_ms = fit.decay_ms;

  c->kinetics_isolated = FALSE;

  if (n_iso >= KINETICS_MIN_TRIALS && isfinite (fit.onset_ms))
    {
      g_autofree float *iso = g_new (float, len);

      baseline_average (iso_sums, n_iso, len, pre_len, iso);
      if (imp_psp_fit (iso, len, pre_len, run->fs, sign, p->latency_min_ms,
                       p->latency_max_ms, &fit)
          && isfinite (fit.rise_ms) && isfinite (fit.decay_ms))
        {
          c->rise_ms = fit.rise_ms;
          c->decay_ms = fit.decay_ms;
          c->kinetics_isolated = TRUE;
        }
    }

  /* Normalised by the presynaptic AP's mean height, so that channels with
   * different coupling factors compare. */
  {
    GArray *aps = run->result->aps[c->pre];
    double height = 0;

    for (k = 0; k < (gint64) aps->len; k++)
      height += g_array_index (aps, ImpEvent, k).amplitude;
    c->amplitude_norm = aps->len > 0 && height > 0
                        ? c->amplitude_mv / (height / aps->len) : NAN;
  }

  return peak;
}

/* After the first pass, one candidate's trials less those with a gap,
 * and its average measured. */
static void
average_item (gpointer data,
              guint    item)
{
  Measure *m = data;
  ImpCandidate *c = m->cands[item];
  Accum *acc = &m->accums[item];
  guint k;

  g_assert (acc->next == acc->n_windows);
  for (k = 0; k < acc->n_windows; k++)
    c->n_trials -= (acc->gap[k / 8] >> (k % 8)) & 1;
  if (c->n_trials > 0)
    acc->peak = measure_average (m->run, c, acc->sums, acc->iso_sums,
                                 acc->n_iso, m->pre_len);
  acc->next = 0;
}

/* From the per-trial sums of the pre-AP shift (@shift: sum, sum of
 * squares), whether the response starts before the AP. */
static void
judge_artefact (ImpCandidate *c,
                const double *shift)
{
  double mean, var;

  if (c->n_trials < 2)
    return;
  mean = shift[0] / c->n_trials;
  var = (shift[1] - shift[0] * mean) / (c->n_trials - 1);
  c->pre_ap_shift_mv = mean;
  c->artefact = fabs (mean) > ARTEFACT_FRACTION * fabs (c->amplitude_mv)
                && fabs (mean) > ARTEFACT_T * sqrt (MAX (var, 0.0)
                                                    / c->n_trials);
}

static int
compare_by_post (gconstpointer a,
                 gconstpointer b)
{
  const ImpCandidate *ca = *(ImpCandidate * const *) a;
  const ImpCandidate *cb = *(ImpCandidate * const *) b;

  if (ca->post != cb->post)
    return ca->post < cb->post ? -1 : 1;
  return (ca->pre > cb->pre) - (ca->pre < cb->pre);
}

/* The trials of every candidate: the post channel's window around each
 * usable pre AP, unless it leaves the sweep or the post cell fires in or
 * shortly before it. Asks the stream for the blocks that hold them. */
static void
find_trials (Measure *m,
             gint64   guard)
{
  Run *run = m->run;
  guint n = run->result->candidates->len;
  gint64 isolation = ms_to_samples (IMP_ANALYSIS_ISOLATION_MS, run->fs);
  guint i, k;

  for (i = 0; i < n; i++)
    {
      ImpCandidate *c = m->cands[i];
      Accum *acc = &m->accums[i];
      GArray *aps = run->ap_times[c->pre];
      GArray *post_aps = run->ap_times[c->post];
      guint group = imp_stream_group_of (m->stream, c->post);

      c->average_len = (guint) m->len;
      c->average = g_new0 (float, m->len);
      c->n_trials = 0;
      acc->use = g_new0 (guint8, aps->len / 8 + 1);
      acc->isolated = g_new0 (guint8, aps->len / 8 + 1);
      for (k = 0; k < aps->len; k++)
        {
          gint64 start = g_array_index (aps, gint64, k) - m->pre_len;

          if (!window_fits (run->recording, start, m->len))
            continue;
          if (imp_detect_count_lagged (&start, 1,
                                       (const gint64 *) post_aps->data,
                                       post_aps->len, -guard,
                                       m->len - 1) > 0)
            continue;
          acc->use[k / 8] |= (guint8) (1u << (k % 8));
          c->n_trials++;
          if (imp_detect_count_lagged (&start, 1, (const gint64 *) aps->data,
                                       aps->len, m->pre_len - isolation,
                                       m->len) == 1)
            acc->isolated[k / 8] |= (guint8) (1u << (k % 8));
          imp_stream_want (m->stream, imp_stream_block_at (m->stream, start),
                           group);
        }
      c->trial_amplitudes = g_new0 (float, MAX (c->n_trials, 1));
      acc->sums = g_new0 (double, m->len);
      acc->iso_sums = g_new0 (double, m->len);
      acc->gap = g_new0 (guint8, c->n_trials / 8 + 1);
      acc->n_windows = c->n_trials;
    }
}

/* Another significant input of the post, as a regressor: its fitted PSP
 * (onset at 0) by sample, and the prefix sums for baseline means. */
typedef struct
{
  guint   pre;
  gint64  onset;          /* samples after its AP */
  gint64  len;
  double *k;              /* len */
  double *cum;            /* len + 1 */
} Explainer;

static void
explainer_init (Explainer          *x,
                const ImpCandidate *b,
                double              fs)
{
  double max_ms = MIN (EXPLAIN_TAIL_DECAYS * b->fit.tau_decay_ms,
                       EXPLAIN_TAIL_MAX_MS);
  gint64 j;

  x->pre = b->pre;
  x->onset = llround (b->fit.onset_ms * fs / 1000);
  x->len = MAX (1, llround (max_ms * fs / 1000));
  x->k = g_new (double, 2 * x->len + 1);
  x->cum = x->k + x->len;
  imp_psp_fit_sample (&b->fit, fs, x->len, x->k);
  x->cum[0] = 0;
  for (j = 0; j < x->len; j++)
    x->cum[j + 1] = x->cum[j] + x->k[j];
}

/* The explainer's PSP summed over its APs @tb (@n, sorted; from index
 * @*first on, which moves forward): its value at sample @at less its
 * mean over [@b0, @b0 + @b_len) (a trial amplitude's peak and baseline). */
static double
explainer_at (const Explainer *x,
              const gint64    *tb,
              guint            n,
              guint           *first,
              gint64           at,
              gint64           b0,
              gint64           b_len)
{
  double v = 0;
  guint j;

  /* APs whose PSP has ended before the baseline starts add nothing */
  while (*first < n && tb[*first] + x->onset + x->len <= b0)
    (*first)++;
  for (j = *first; j < n && tb[j] + x->onset <= at; j++)
    {
      gint64 s = tb[j] + x->onset, i0, i1;

      i0 = CLAMP (b0 - s, 0, x->len);
      i1 = CLAMP (b0 + b_len - s, 0, x->len);
      if (at - s < x->len)
        v += x->k[at - s];
      v -= (x->cum[i1] - x->cum[i0]) / b_len;
    }
  return v;
}

/* The share of @a's APs with one of @b's within @sync samples: near 1
 * for two electrodes that record the same cell (crosstalk), which must
 * not explain each other away. */
static double
synchronous_share (Run    *run,
                   guint   a,
                   guint   b,
                   gint64  sync)
{
  GArray *a_aps = run->ap_times[a], *b_aps = run->ap_times[b];
  const gint64 *ta = (const gint64 *) a_aps->data;
  const gint64 *tb = (const gint64 *) b_aps->data;
  guint k, j = 0, n = 0;

  for (k = 0; k < a_aps->len; k++)
    {
      while (j < b_aps->len && tb[j] < ta[k] - sync)
        j++;
      n += j < b_aps->len && tb[j] <= ta[k] + sync;
    }
  return a_aps->len > 0 ? (double) n / a_aps->len : 0;
}

/* Whether the other significant inputs of the post explain a
 * significant candidate's response (docs/analysis.md, "Explained by
 * another input"): each trial's amplitude regressed on what each other
 * input's fitted PSP, summed over its APs, adds to it; the intercept is
 * the direct response. */
static void
explain_item (gpointer data,
              guint    item)
{
  Measure *m = data;
  Run *run = m->run;
  ImpCandidate *c = m->cands[item];
  Accum *acc = &m->accums[item];
  guint n_cands = run->result->candidates->len;
  GArray *a_aps = run->ap_times[c->pre];
  const gint64 *ta = (const gint64 *) a_aps->data;
  gint64 at = acc->peak - m->pre_len;
  gint64 sync = llround (EXPLAIN_SYNC_MS * run->fs / 1000);
  double sign = c->sign == 'I' ? -1.0 : 1.0;
  g_autofree Explainer *xs = NULL;
  g_autofree guint *first = NULL;
  g_autofree double *row = NULL;
  g_autofree double *xty = NULL;
  g_autofree double *x_sum = NULL;
  gsl_matrix *xtx = NULL;
  double yty = 0, n = 0, sigma2, se, direct;
  guint lo = item, hi = item, e, k, p = 0, q, r, trial = 0, best = 0;

  c->direct_mv = c->direct_z = NAN;
  c->explained_by = G_MAXUINT;
  c->explained = FALSE;
  /* an average that does not move the way of the candidate's sign has
   * no response of that sign to explain */
  if (!c->significant || acc->n_windows == 0 || !isfinite (c->latency_ms)
      || !(sign * c->amplitude_mv > 0))
    return;
  while (lo > 0 && m->cands[lo - 1]->post == c->post)
    lo--;
  while (hi + 1 < n_cands && m->cands[hi + 1]->post == c->post)
    hi++;
  xs = g_new0 (Explainer, hi - lo + 1);
  for (e = lo; e <= hi; e++)
    {
      ImpCandidate *b = m->cands[e];

      if (e != item && b->significant && b->pre != c->pre
          && b->n_trials > 0 && isfinite (b->fit.onset_ms)
          && b->fit.tau_rise_ms > 0
          && synchronous_share (run, c->pre, b->pre, sync)
             <= EXPLAIN_SYNC_SHARE)
        explainer_init (&xs[p++], b, run->fs);
    }
  if (p == 0)
    return;

  /* normal equations of y = direct + sum_e beta_e x_e */
  first = g_new0 (guint, p);
  row = g_new (double, p + 1);
  xty = g_new0 (double, p + 1);
  x_sum = g_new0 (double, p);
  xtx = gsl_matrix_calloc (p + 1, p + 1);
  for (k = 0; k < a_aps->len; k++)
    {
      double y;

      if (!(acc->use[k / 8] & (1u << (k % 8))))
        continue;
      trial++;
      if (acc->gap[(trial - 1) / 8] & (1u << ((trial - 1) % 8)))
        continue;
      y = sign * c->trial_amplitudes[trial - 1];
      row[0] = 1;
      for (e = 0; e < p; e++)
        {
          GArray *b_aps = run->ap_times[xs[e].pre];

          row[e + 1] = explainer_at (&xs[e], (const gint64 *) b_aps->data,
                                     b_aps->len, &first[e], ta[k] + at,
                                     ta[k] - m->pre_len, m->pre_len);
          x_sum[e] += fabs (row[e + 1]);
        }
      for (q = 0; q <= p; q++)
        {
          xty[q] += row[q] * y;
          for (r = 0; r <= q; r++)
            *gsl_matrix_ptr (xtx, q, r) += row[q] * row[r];
        }
      yty += y * y;
      n++;
    }
  for (q = 0; q <= p; q++)
    for (r = 0; r < q; r++)
      gsl_matrix_set (xtx, r, q, gsl_matrix_get (xtx, q, r));
  for (e = 0; e < p; e++)
    {
      if (x_sum[e] > x_sum[best])
        best = e;
      /* an input that never reaches the trials: a column of zeros */
      if (!(gsl_matrix_get (xtx, e + 1, e + 1) > 0))
        gsl_matrix_set (xtx, e + 1, e + 1, 1);
    }

  if (n > p + 2 && x_sum[best] > 0)
    {
      gsl_vector_view v = gsl_vector_view_array (xty, p + 1);
      g_autofree double *beta = g_new (double, p + 1);
      gsl_vector_view bv = gsl_vector_view_array (beta, p + 1);
      gsl_error_handler_t *old = gsl_set_error_handler_off ();
      double fit = 0;

      if (gsl_linalg_cholesky_decomp1 (xtx) == 0
          && gsl_linalg_cholesky_solve (xtx, &v.vector, &bv.vector) == 0)
        {
          for (q = 0; q <= p; q++)
            fit += beta[q] * xty[q];
          sigma2 = MAX (yty - fit, 0.0) / (n - p - 1);
          /* (X'X)^-1 [0][0] from the factor */
          gsl_linalg_cholesky_invert (xtx);
          se = sqrt (sigma2 * gsl_matrix_get (xtx, 0, 0));
          direct = beta[0];
          c->direct_mv = sign * direct;
          c->direct_z = se > 0 ? direct / se : NAN;
          c->explained = n >= EXPLAIN_MIN_TRIALS
                         && c->direct_z < EXPLAIN_DIRECT_Z
                         && direct + 2 * se < EXPLAIN_FRACTION * sign
                                              * c->amplitude_mv;
          if (c->explained)
            c->explained_by = xs[best].pre;
        }
      gsl_set_error_handler (old);
    }
  for (e = 0; e < p; e++)
    g_free (xs[e].k);
  gsl_matrix_free (xtx);
}

/* Averages, trial amplitudes and the artefact check of all candidates,
 * in two passes over the blocks that hold their windows. */
static gboolean
measure_candidates (Run     *run,
                    GError **error)
{
  const ImpAnalysisParams *p = run->params;
  GPtrArray *cands = run->result->candidates;
  g_autoptr(ImpStream) stream = NULL;
  g_autofree guint *group_start = NULL;
  Measure m = { run };
  gint64 block = (gint64) ceil (BLOCK_MIN_S * run->fs / BLOCK_ALIGN)
                 * BLOCK_ALIGN;
  gint64 guard = ms_to_samples (POST_AP_GUARD_MS, run->fs);
  gboolean ok = TRUE;
  guint i, g, n_groups;

  m.pre_len = MAX (1, ms_to_samples (p->window_pre_ms, run->fs));
  m.len = m.pre_len + MAX (1, ms_to_samples (p->window_post_ms, run->fs));
  m.half = ms_to_samples (PEAK_HALF_MS, run->fs);
  m.late = CLAMP (ms_to_samples (ARTEFACT_LATE_MS, run->fs), 1,
                  MAX (m.pre_len / 2, 1));
  /* A window starts in a block and may run past its end. */
  stream = imp_stream_new (run->recording, block, 0, m.len);
  m.stream = stream;
  m.cands = g_new (ImpCandidate *, MAX (cands->len, 1));
  m.accums = g_new0 (Accum, MAX (cands->len, 1));
  if (cands->len > 0)
    memcpy (m.cands, cands->pdata, cands->len * sizeof (gpointer));
  qsort (m.cands, cands->len, sizeof (gpointer), compare_by_post);
  n_groups = imp_stream_get_n_groups (stream);
  group_start = g_new0 (guint, n_groups + 1);
  for (i = 0, g = 0; g <= n_groups; g++)
    {
      while (i < cands->len
             && imp_stream_group_of (stream, m.cands[i]->post) < g)
        i++;
      group_start[g] = i;
    }
  m.group_start = group_start;

  find_trials (&m, guard);
  plan_keeping (&m);

  m.progress_from = PROGRESS_DETECT + PROGRESS_PAIRS;
  ok = imp_stream_run (stream, measure_block_cb, &m, measure_progress_cb,
                       &m, run->cancellable, error);

  if (ok)
    {
      parallel_for (cands->len, average_item, &m, run->cancellable, NULL,
                    NULL);
      ok = !g_cancellable_set_error_if_cancelled (run->cancellable, error);
    }

  if (ok)
    {
      m.amplitudes = TRUE;
      m.progress_from += (1 - PROGRESS_DETECT - PROGRESS_PAIRS
                          - PROGRESS_QUANTA) / 2;
      if (m.windows != NULL)
        {
          parallel_for (cands->len, measure_kept_item, &m, run->cancellable,
                        measure_kept_progress, &m);
          ok = !g_cancellable_set_error_if_cancelled (run->cancellable,
                                                      error);
        }
      else
        ok = imp_stream_run (stream, measure_block_cb, &m,
                             measure_progress_cb, &m, run->cancellable,
                             error);
    }

  if (ok)
    {
      gint64 t0 = g_get_monotonic_time ();
      guint n_explained = 0;

      parallel_for (cands->len, explain_item, &m, run->cancellable, NULL,
                    NULL);
      ok = !g_cancellable_set_error_if_cancelled (run->cancellable, error);
      for (i = 0; i < cands->len; i++)
        n_explained += m.cands[i]->explained;
      g_debug ("%u candidates explained by other inputs, in %.2f s",
               n_explained, (g_get_monotonic_time () - t0) / 1e6);
    }

  for (i = 0; i < cands->len; i++)
    {
      Accum *acc = &m.accums[i];

      if (ok)
        {
          drop_gap_trials (m.cands[i], acc);
          judge_artefact (m.cands[i], acc->shift);
        }
      g_free (acc->use);
      g_free (acc->isolated);
      g_free (acc->sums);
      g_free (acc->iso_sums);
      g_free (acc->gap);
      g_free (acc->template_w);
    }
  g_free (m.accums);
  g_free (m.cands);
  g_free (m.windows);
  return ok;
}

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  const ImpCandidate *ca = *(ImpCandidate * const *) a;
  const ImpCandidate *cb = *(ImpCandidate * const *) b;

  if (ca->significant != cb->significant)
    return ca->significant ? -1 : 1;
  if (ca->p_value != cb->p_value)
    return ca->p_value < cb->p_value ? -1 : 1;
  if (ca->p_uncorrected != cb->p_uncorrected)
    return ca->p_uncorrected < cb->p_uncorrected ? -1 : 1;
  if (ca->ap_ap_p_value != cb->ap_ap_p_value)
    return ca->ap_ap_p_value < cb->ap_ap_p_value ? -1 : 1;
  if (ca->pre != cb->pre)
    return ca->pre < cb->pre ? -1 : 1;
  return (ca->post > cb->post) - (ca->post < cb->post);
}

/* Whether a kept pair is significant either way (before its evidence is
 * measured), and whether it is a candidate at all. */
static gboolean
test_significant (const ImpAnalysisParams *p,
                  const PairTest          *t)
{
  return (t->q_pair <= p->alpha && !t->wave.common_input)
         || t->q_ap <= p->alpha;
}

static gboolean
test_is_candidate (const ImpAnalysisParams *p,
                   const PairTest          *t)
{
  return test_significant (p, t) || !(t->p_pair >= p->candidate_p_max
                                      && t->p_event >= p->candidate_p_max
                                      && t->p[TEST_AP] >= p->candidate_p_max);
}

/* The lowest of a pair's uncorrected p-values, NaN last. */
static double
least_p (const PairTest *t)
{
  double least = fmin (t->p_pair, fmin (t->p_event, t->p[TEST_AP]));

  return isnan (least) ? INFINITY : least;
}

static int
compare_least_p (gconstpointer a,
                 gconstpointer b)
{
  const PairTest *ta = a;
  const PairTest *tb = b;
  double pa = least_p (ta), pb = least_p (tb);

  if (pa != pb)
    return pa < pb ? -1 : 1;
  if (ta->p_pair != tb->p_pair)
    return ta->p_pair < tb->p_pair ? -1 : 1;
  return (ta->slot > tb->slot) - (ta->slot < tb->slot);
}

/* Leaves in run->tests the candidates: every significant pair, and at
 * most max_candidates others, those with the lowest p-value (on any
 * test) first; by slot. */
static void
select_candidates (Run *run)
{
  const ImpAnalysisParams *p = run->params;
  g_autoptr(GArray) others = g_array_new (FALSE, FALSE, sizeof (PairTest));
  GArray *kept = g_array_new (FALSE, FALSE, sizeof (PairTest));
  guint i;

  for (i = 0; i < run->tests->len; i++)
    {
      const PairTest *t = &g_array_index (run->tests, PairTest, i);

      if (!test_is_candidate (p, t))
        continue;
      g_array_append_val (test_significant (p, t) ? kept : others, *t);
    }
  if (others->len > p->max_candidates)
    {
      g_debug ("%u candidates that are not significant, %u kept",
               others->len, p->max_candidates);
      g_array_sort (others, compare_least_p);
      g_array_set_size (others, p->max_candidates);
    }
  g_array_append_vals (kept, others->data, others->len);
  g_array_sort (kept, compare_slots);
  g_array_unref (run->tests);
  run->tests = kept;
}

/* The candidates' event tests again, for their counts and null means
 * (only their p-values were kept): the same trains and counts give the
 * same numbers. One item per presynaptic channel. */
typedef struct
{
  Run   *run;
  guint *start;        /* n + 1: each pre's tests in run->tests */
  guint  n;
} Retest;

static void
retest_item (gpointer data,
             guint    item)
{
  Retest *rt = data;
  Run *run = rt->run;
  ImpAnalysisResult *res = run->result;
  PairTest *first = &g_array_index (run->tests, PairTest, rt->start[item]);
  g_autofree guint64 *surrogates = g_new (guint64,
                                          run->params->n_surrogates);
  PreTrain pt;
  guint i;

  pre_train_init (run, first->pre, MIN (run->lo, 0),
                  MAX (run->hi, run->ap_hi), &pt);
  for (i = rt->start[item]; i < rt->start[item + 1]; i++)
    {
      PairTest *t = &g_array_index (run->tests, PairTest, i);
      guint64 observed[N_TESTS], reach[N_TESTS];
      PairTest again = { 0 };
      TestKind kind;

      for (kind = 0; kind < N_TESTS; kind++)
        count_pair (&pt, kind == TEST_AP ? res->aps[t->post]
                                         : res->psps[t->post],
                    kind, run->lo, kind == TEST_AP ? run->ap_hi : run->hi,
                    &observed[kind], &reach[kind]);
      test_pair (run, &pt, t->post, observed, reach, surrogates, &again);
      g_assert (again.p_event == t->p_event || isnan (t->p_event));
      memcpy (t->p, again.p, sizeof t->p);
      memcpy (t->hits, again.hits, sizeof t->hits);
      memcpy (t->null_mean, again.null_mean, sizeof t->null_mean);
    }
  pre_train_clear (&pt);
}

static gboolean
retest_candidates (Run     *run,
                   GError **error)
{
  Retest rt = { run };
  g_autofree guint *start = g_new (guint, run->tests->len + 1);
  guint i;

  for (i = 0; i < run->tests->len; i++)
    if (i == 0 || g_array_index (run->tests, PairTest, i).pre
                  != g_array_index (run->tests, PairTest, i - 1).pre)
      start[rt.n++] = i;
  start[rt.n] = run->tests->len;
  rt.start = start;
  parallel_for (rt.n, retest_item, &rt, run->cancellable, NULL, NULL);
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

/* The onset test (docs/analysis.md, "Time-locked onsets"). A synapse's
 * PSPs start a fixed latency after each presynaptic AP, so the excess of
 * the post's same-sign PSP onsets after the APs lies mostly in one short
 * window; a chain through another cell (pre -> x -> post) spreads them
 * over the middle cell's spike times. Over all trials, lags from
 * latency_min_ms to the end of the average window: the best
 * psc_window_ms window (starting by latency_max_ms) holds ca onsets, the
 * rest cb; the baseline rate comes from the lags -jitter_ms to -lead_ms
 * (from -(lead_ms + jitter_ms) when the lead reaches as far as the jitter).
 * A synapse also answers the presynaptic cell's later APs (bursts), which
 * land in the rest: f of them per trial on average. The statistic is
 * the rest's excess minus (1 + f) times the window's, in standard errors
 * (Poisson counts); NAN when there is no baseline to compare with. */
static double
onset_spread_z (const ImpAnalysisParams *p,
                double                   fs,
                const gint64            *aps,
                guint                    n_aps,
                GArray                  *psps,
                char                     sign)
{
  gint64 lo = MAX (1, ms_to_samples (p->latency_min_ms, fs));
  gint64 hi = ms_to_samples (p->window_post_ms, fs);
  gint64 last_start = ms_to_samples (p->latency_max_ms, fs);
  gint64 w = MAX (1, ms_to_samples (p->psc_window_ms, fs));
  /* the baseline ends where the common-input check starts looking; it
   * spans the jitter's reach, or, when the lead reaches further, as much
   * again before the lead */
  gint64 base_to = -ms_to_samples (p->lead_ms, fs);
  gint64 base_from = -ms_to_samples (p->jitter_ms > p->lead_ms
                                     ? p->jitter_ms
                                     : p->lead_ms + p->jitter_ms, fs);
  g_autofree guint32 *h = NULL;
  double base = 0, f, ca = 0, cb = 0, k, r, rest, stat, var;
  gint64 best = lo, t, sum;
  guint a, j0 = 0, j;

  if (n_aps == 0 || base_to - base_from < 1 || hi - lo < 2 * w
      || last_start < lo)
    return NAN;
  last_start = MIN (last_start, hi - w);
  h = g_new0 (guint32, hi - lo);
  for (a = 0; a < n_aps; a++)
    {
      gint64 at = aps[a];

      while (j0 < psps->len
             && (gint64) g_array_index (psps, ImpEvent, j0).sample
                < at + base_from)
        j0++;
      for (j = j0; j < psps->len; j++)
        {
          const ImpEvent *e = &g_array_index (psps, ImpEvent, j);
          gint64 lag = (gint64) e->sample - at;

          if (lag >= hi)
            break;
          if ((e->amplitude > 0) != (sign == 'E'))
            continue;
          if (lag < base_to)
            base++;
          else if (lag >= lo)
            h[lag - lo]++;
        }
    }

  for (t = lo, sum = 0; t < lo + w; t++)
    sum += h[t - lo];
  ca = sum;
  for (t = lo + 1; t <= last_start; t++)
    {
      sum += (gint64) h[t + w - 1 - lo] - h[t - 1 - lo];
      if (sum > ca)
        ca = sum, best = t;
    }
  for (t = lo; t < hi; t++)
    cb += h[t - lo];
  cb -= ca;

  /* The presynaptic cell's later APs whose response would land after
   * the best window and before the end. */
  f = (double) imp_detect_count_lagged (aps, n_aps, aps, n_aps, 1,
                                        hi - best - 1) / n_aps;

  k = 1 + f;
  r = base / (double) (base_to - base_from);   /* onsets per lag */
  rest = (double) (hi - lo - w) - k * (double) w;
  stat = cb - k * ca - r * rest;
  var = cb + k * k * ca + rest * rest * base
                          / ((double) (base_to - base_from)
                             * (double) (base_to - base_from));
  return var > 0 ? stat / sqrt (var) : 0;
}

double
_imp_analysis_onset_spread_z (const ImpAnalysisParams *params,
                              double                   fs,
                              GArray                  *aps,
                              GArray                  *psps,
                              char                     sign)
{
  g_autofree gint64 *t = g_new (gint64, MAX (aps->len, 1));

  for (guint a = 0; a < aps->len; a++)
    t[a] = g_array_index (aps, ImpEvent, a).sample;
  return onset_spread_z (params, fs, t, aps->len, psps, sign);
}

static gboolean
measure_all (Run     *run,
             GError **error)
{
  const ImpAnalysisParams *p = run->params;
  ImpAnalysisResult *res = run->result;
  GPtrArray *cands = res->candidates;
  guint i;

  select_candidates (run);
  if (!retest_candidates (run, error))
    return FALSE;

  for (i = 0; i < run->tests->len; i++)
    {
      PairTest *t = &g_array_index (run->tests, PairTest, i);
      gboolean sig = t->q_pair <= p->alpha && !t->wave.common_input;
      gboolean ap_sig = t->q_ap <= p->alpha;
      ImpCandidate *c;
      TestKind kind;

      kind = t->wave.z != 0 ? (t->wave.z > 0 ? TEST_E : TEST_I)
             : t->p[TEST_E] <= t->p[TEST_I] ? TEST_E : TEST_I;
      c = g_new0 (ImpCandidate, 1);
      c->fit = IMP_PSP_FIT_NONE;
      c->pre = t->pre;
      c->post = t->post;
      c->sign = kind == TEST_E ? 'E' : 'I';
      c->event_p_uncorrected = t->p_event;
      c->wave_z = t->wave.z;
      c->wave_delay_ms = t->wave.delay_ms;
      c->crosstalk = t->wave.crosstalk;
      c->lead_z = t->wave.z_lead;
      c->common_input = t->wave.common_input;
      c->transient = t->wave.transient;
      c->zero_z = t->wave.z_zero;
      c->p_value = t->q_pair;
      c->p_uncorrected = t->p_pair;
      c->significant = sig;
      c->ap_ap_p_value = t->q_ap;
      c->ap_ap_p_uncorrected = t->p[TEST_AP];
      c->ap_ap_significant = ap_sig;
      c->n_hits = t->hits[kind];
      c->null_mean = t->null_mean[kind];
      c->n_ap_ap_hits = t->hits[TEST_AP];
      c->ap_ap_null_mean = t->null_mean[TEST_AP];
      c->n_pre_aps = res->aps[t->pre]->len;
      g_ptr_array_add (cands, c);
      g_hash_table_insert (run->cand_tests, c, t);
    }

  if (!measure_candidates (run, error))
    return FALSE;

  for (i = 0; i < cands->len; i++)
    {
      ImpCandidate *c = g_ptr_array_index (cands, i);
      GArray *pre_aps = run->ap_times[c->pre];

      /* A response before the AP that the waveform test explained as the
       * presynaptic AP's crosstalk (and removed) is no artefact. */
      if (c->artefact && c->crosstalk != 0)
        c->artefact = FALSE;
      if (c->transient)
        c->artefact = TRUE;
      c->spread_z = onset_spread_z (p, run->fs,
                                    (const gint64 *) pre_aps->data,
                                    pre_aps->len, res->psps[c->post],
                                    c->sign);
      c->polysynaptic = c->spread_z >= p->spread_z;
      /* Without one usable trial (every presynaptic AP near a
       * postsynaptic one) nothing was measured: no numbers, and no
       * connection to report. */
      if (c->n_trials == 0)
        {
          c->amplitude_mv = c->amplitude_norm = NAN;
          c->latency_ms = c->rise_ms = c->decay_ms = NAN;
          c->significant = FALSE;
        }
      if (c->artefact || c->common_input || c->polysynaptic || c->explained)
        c->significant = FALSE;
      if (c->significant)
        res->n_connections++;
      if (c->ap_ap_significant)
        res->n_ap_ap_connections++;
    }

  g_ptr_array_sort (cands, compare_candidates);
  return TRUE;
}

/* Quantal fits, one per significant connection, after its amplitudes
 * are measured; the other candidates are marked as not fitted for that
 * reason (their amplitudes are kept). */

static void
fit_quanta_item (gpointer data,
                 guint    item)
{
  Run *run = data;
  ImpCandidate *c = g_ptr_array_index (run->result->candidates, item);

  if (!c->significant)
    {
      imp_quantal_fit_skip (c->quantal_amplitudes, c->n_quantal_trials,
                            c->sign == 'I' ? -1 : 1,
                            IMP_QUANTAL_NOT_SIGNIFICANT, &c->quantal);
      return;
    }
  imp_quantal_fit (c->quantal_amplitudes, c->n_quantal_trials,
                   c->sign == 'I' ? -1 : 1, NAN, &run->params->quantal,
                   (guint64) c->pre * run->n_channels + c->post, &c->quantal);
}

static void
fit_quanta_progress (gpointer data,
                     guint    finished)
{
  Run *run = data;

  report (run, 1 - PROGRESS_QUANTA
               + PROGRESS_QUANTA * finished
                 / MAX (run->result->candidates->len, 1),
          "Fitting quanta");
}

static gboolean
fit_quanta_all (Run     *run,
                GError **error)
{
  report (run, 1 - PROGRESS_QUANTA, "Fitting quanta");
  parallel_for (run->result->candidates->len, fit_quanta_item, run,
                run->cancellable, fit_quanta_progress, run);
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

/**
 * imp_analysis_run:
 * @recording: the recording; read, never changed
 * @params: the parameters (copied into the result)
 * @progress: (nullable) (scope call): called from this thread with the
 *   overall fraction done and the stage
 * @user_data: for @progress
 * @cancellable: (nullable): checked at every block
 * @error: return location for a #GError
 *
 * Detects APs and PSPs on every channel, tests every ordered pair of
 * channels (pre with APs, post with intracellular access) for PSPs and for
 * APs time-locked to the presynaptic APs against jittered surrogates,
 * corrects for the number of pairs, and measures each candidate's
 * AP-triggered average. Streams the recording in blocks; see
 * docs/analysis.md.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error
 *   set (%G_IO_ERROR_CANCELLED when cancelled)
 */
ImpAnalysisResult *
imp_analysis_run (ImpRecording             *recording,
                  const ImpAnalysisParams  *params,
                  ImpProgressFunc           progress,
                  gpointer                  user_data,
                  GCancellable             *cancellable,
                  GError                  **error)
{
  Run run = { 0 };
  ImpAnalysisParams effective;
  ImpAnalysisResult *out = NULL;
  gint64 start = g_get_monotonic_time ();
  guint c;

  g_return_val_if_fail (recording != NULL, NULL);
  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!imp_analysis_params_validate (params, error))
    return NULL;
  if (imp_recording_get_n_samples (recording) > IMP_ANALYSIS_MAX_SAMPLES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Cannot analyse: the recording has %" G_GINT64_FORMAT
                   " samples per channel, more than the 4,294,967,296 "
                   "(2^32) that event times can hold; analyse a part of it",
                   imp_recording_get_n_samples (recording));
      return NULL;
    }
  effective = *params;
  imp_analysis_params_normalise (&effective);

  run.recording = recording;
  run.params = &effective;
  run.progress = progress;
  run.user_data = user_data;
  run.cancellable = cancellable;
  run.n_channels = imp_recording_get_n_channels (recording);
  run.fs = imp_recording_get_sample_rate (recording);
  run.result = result_new (run.n_channels);
  run.result->sample_rate = run.fs;
  run.result->params = effective;
  run.result->n_samples = imp_recording_get_n_samples (recording);
  run.levels = g_new0 (GArray *, run.n_channels);
  run.noises = g_new0 (GArray *, run.n_channels);
  run.stats = g_new0 (ChannelStats, run.n_channels);
  run.steps = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.ap_times = g_new0 (GArray *, run.n_channels);
  run.tests = g_array_new (FALSE, FALSE, sizeof (PairTest));
  run.cand_tests = g_hash_table_new (NULL, NULL);
  for (c = 0; c < run.n_channels; c++)
    {
      run.levels[c] = g_array_new (FALSE, FALSE, sizeof (float));
      run.noises[c] = g_array_new (FALSE, FALSE, sizeof (float));
      run.stats[c].lowest = INFINITY;
      run.stats[c].highest = -INFINITY;
    }

  report (&run, 0.0, "Reading and detecting");
  if (!detect_all (&run, error))
    goto out;
  summarise_channels (&run);
  g_debug ("Detection on %u channels took %.2f s", run.n_channels,
           (g_get_monotonic_time () - start) / 1e6);

  report (&run, PROGRESS_DETECT, "Correlating pairs");
  if (!correlate_all (&run, error))
    goto out;
  g_debug ("Event tests done after %.2f s",
           (g_get_monotonic_time () - start) / 1e6);
  if (!wave_all (&run, error))
    goto out;
  correct_all (&run);
  g_debug ("%" G_GUINT64_FORMAT " pair tests done after %.2f s",
           run.result->n_pairs_tested,
           (g_get_monotonic_time () - start) / 1e6);

  report (&run, PROGRESS_DETECT + PROGRESS_PAIRS, "Measuring candidates");
  if (!measure_all (&run, error))
    goto out;
  g_debug ("%u candidates measured after %.2f s",
           run.result->candidates->len,
           (g_get_monotonic_time () - start) / 1e6);

  if (!fit_quanta_all (&run, error))
    goto out;
  g_debug ("Quanta fitted after %.2f s",
           (g_get_monotonic_time () - start) / 1e6);

  report (&run, 1.0, "Done");
  out = g_steal_pointer (&run.result);

out:
  run_clear (&run);
  return out;
}

/**
 * imp_analysis_result_get_note:
 * @self: a result
 * @channel: a channel index
 *
 * Why the channel was not analysed, or only in part: "current (pA), not a
 * membrane potential: not analysed" (its access is %IMP_ACCESS_UNKNOWN),
 * "no signal: …" (all NaN or infinite, or flat; %IMP_ACCESS_NONE), or how
 * many NaN or infinite samples were left out as gaps.
 *
 * Returns: (nullable): the note, or %NULL when there is nothing to say
 */
const char *
imp_analysis_result_get_note (ImpAnalysisResult *self,
                              guint              channel)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (channel < self->n_channels, NULL);

  if (self->notes == NULL || self->notes[channel] == NULL
      || self->notes[channel][0] == '\0')
    return NULL;
  return self->notes[channel];
}

/**
 * imp_analysis_result_to_map:
 * @self: a result
 *
 * Returns: (transfer full) (element-type ImpMapEntry): the significant
 *   AP->PSP connections, strongest evidence first; amplitudes rounded to
 *   0.1 µV and latencies to 1 µs; the quantal size (0.1 µV), n and p
 *   (rounded to 0.0001) where quanta are claimed
 */
GArray *
imp_analysis_result_to_map (ImpAnalysisResult *self)
{
  GArray *map;
  guint i;

  g_return_val_if_fail (self != NULL, NULL);

  map = imp_map_new ();
  for (i = 0; i < self->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (self->candidates, i);
      ImpMapEntry e = { 0 };

      if (!c->significant)
        continue;
      e.pre = c->pre;
      e.post = c->post;
      e.pre_label = g_strdup (self->labels[c->pre]);
      e.post_label = g_strdup (self->labels[c->post]);
      e.sign = c->sign;
      /* Beyond 0.1 µV and 1 µs the digits are noise. */
      e.amplitude_mv = round (c->amplitude_mv * 1e4) / 1e4;
      e.latency_ms = round (c->latency_ms * 1e3) / 1e3;
      e.p_value = c->p_value;
      e.n_pre_aps = c->n_pre_aps;
      if (c->quantal.verdict == IMP_QUANTAL_QUANTA)
        {
          e.quantal_mv = round (c->quantal.q_mv * 1e4) / 1e4;
          e.quantal_n = c->quantal.n;
          e.release_p = round (c->quantal.p * 1e4) / 1e4;
        }
      g_array_append_val (map, e);
    }
  return map;
}

static void
add_quantal_params (JsonBuilder            *b,
                    const ImpQuantalParams *p)
{
  json_builder_set_member_name (b, "quantal");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n_max");
  json_builder_add_int_value (b, p->n_max);
  json_builder_set_member_name (b, "min_trials");
  json_builder_add_int_value (b, p->min_trials);
  json_builder_set_member_name (b, "n_bootstrap");
  json_builder_add_int_value (b, p->n_bootstrap);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) p->seed);
  json_builder_set_member_name (b, "bic_margin");
  json_builder_add_double_value (b, IMP_QUANTAL_BIC_MARGIN);
  json_builder_end_object (b);
}

static void
add_pair (ImpJsonWriter *w,
          const char    *name,
          double         lo,
          double         hi)
{
  imp_json_writer_begin_array (w, name);
  imp_json_writer_double (w, NULL, lo);
  imp_json_writer_double (w, NULL, hi);
  imp_json_writer_end_array (w);
}

/* A candidate's quantal fit; the numbers of the binomial fit are written
 * whenever one was made, the intervals only with a claim (else null). */
static void
add_quantal (ImpJsonWriter       *w,
             const ImpQuantalFit *q)
{
  g_autofree char *reason = imp_quantal_fit_describe (q);

  imp_json_writer_begin_object (w, "quantal");
  imp_json_writer_string (w, "verdict",
                          imp_quantal_verdict_to_string (q->verdict));
  imp_json_writer_boolean (w, "claimed", q->verdict == IMP_QUANTAL_QUANTA);
  imp_json_writer_string (w, "reason", reason);
  imp_json_writer_string (w, "model", imp_quantal_model_to_string (q->model));
  imp_json_writer_int (w, "sign", q->sign);
  imp_json_writer_int (w, "n_used", q->n_used);
  imp_json_writer_double (w, "q_mv", q->q_mv);
  add_pair (w, "q_ci_mv", q->q_lo_mv, q->q_hi_mv);
  imp_json_writer_int (w, "n", q->n);
  if (q->n > 0)
    {
      imp_json_writer_begin_array (w, "n_range");
      imp_json_writer_int (w, NULL, q->n_lo);
      imp_json_writer_int (w, NULL, q->n_hi);
      imp_json_writer_end_array (w);
    }
  else
    imp_json_writer_string (w, "n_range", NULL);
  imp_json_writer_double (w, "p", q->p);
  add_pair (w, "p_ci", q->p_lo, q->p_hi);
  imp_json_writer_double (w, "sigma0_mv", q->sigma0_mv);
  imp_json_writer_boolean (w, "sigma0_known", q->sigma0_known);
  imp_json_writer_double (w, "sigma_q_mv", q->sigma_q_mv);
  imp_json_writer_int (w, "n_bootstrap", q->n_bootstrap);
  imp_json_writer_double (w, "bic_gaussian", q->bic_gaussian);
  imp_json_writer_double (w, "bic_binomial", q->bic_binomial);
  imp_json_writer_double (w, "bic_mixture", q->bic_mixture);
  imp_json_writer_end_object (w);
}

static void
add_params (JsonBuilder             *b,
            const ImpAnalysisParams *p)
{
  json_builder_set_member_name (b, "parameters");
  json_builder_begin_object (b);
#define MEMBER_DOUBLE(name) \
  json_builder_set_member_name (b, #name); \
  json_builder_add_double_value (b, p->name)
  MEMBER_DOUBLE (ap_threshold_sd);
  MEMBER_DOUBLE (ap_min_height_mv);
  MEMBER_DOUBLE (ap_refractory_ms);
  MEMBER_DOUBLE (psp_threshold_sd);
  MEMBER_DOUBLE (window_pre_ms);
  MEMBER_DOUBLE (window_post_ms);
  MEMBER_DOUBLE (latency_min_ms);
  MEMBER_DOUBLE (latency_max_ms);
  MEMBER_DOUBLE (alpha);
  MEMBER_DOUBLE (jitter_ms);
  MEMBER_DOUBLE (candidate_p_max);
  MEMBER_DOUBLE (deconv_tau_ms);
  MEMBER_DOUBLE (psc_window_ms);
  MEMBER_DOUBLE (baseline_ms);
  MEMBER_DOUBLE (lead_ms);
  MEMBER_DOUBLE (ap_blank_ms);
  MEMBER_DOUBLE (common_input_z);
  MEMBER_DOUBLE (spread_z);
#undef MEMBER_DOUBLE
  json_builder_set_member_name (b, "n_surrogates");
  json_builder_add_int_value (b, p->n_surrogates);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) p->seed);
  json_builder_set_member_name (b, "min_pre_aps");
  json_builder_add_int_value (b, p->min_pre_aps);
  json_builder_set_member_name (b, "max_candidates");
  json_builder_add_int_value (b, p->max_candidates);
  add_quantal_params (b, &p->quantal);
  json_builder_end_object (b);
}

/* The PSP fitted to the average, in the JSON's units. */
static void
add_psp_fit (ImpJsonWriter   *w,
             const ImpPspFit *fit)
{
  imp_json_writer_begin_object (w, "psp_fit");
  imp_json_writer_double (w, "tau_rise_ms", fit->tau_rise_ms);
  imp_json_writer_double (w, "tau_decay_ms", fit->tau_decay_ms);
  imp_json_writer_double (w, "amplitude_mv", fit->amplitude);
  imp_json_writer_double (w, "baseline_mv", fit->baseline);
  imp_json_writer_double (w, "slope_mv_per_ms", fit->slope_per_ms);
  imp_json_writer_end_object (w);
}

static void
add_candidate (ImpJsonWriter           *w,
               const ImpAnalysisResult *self,
               const ImpCandidate      *c)
{
  char sign[2] = { c->sign, '\0' };

  imp_json_writer_begin_object (w, NULL);
  imp_json_writer_int (w, "pre", c->pre);
  imp_json_writer_int (w, "post", c->post);
  imp_json_writer_string (w, "pre_label", self->labels[c->pre]);
  imp_json_writer_string (w, "post_label", self->labels[c->post]);
  imp_json_writer_string (w, "sign", sign);
  imp_json_writer_double (w, "amplitude_mv", c->amplitude_mv);
  imp_json_writer_double (w, "latency_ms", c->latency_ms);
  imp_json_writer_double (w, "p_value", c->p_value);
  imp_json_writer_double (w, "p_uncorrected", c->p_uncorrected);
  imp_json_writer_boolean (w, "significant", c->significant);
  imp_json_writer_int (w, "n_pre_aps", c->n_pre_aps);
  imp_json_writer_int (w, "n_trials", c->n_trials);
  imp_json_writer_int (w, "hits", c->n_hits);
  imp_json_writer_double (w, "null_mean", c->null_mean);
  imp_json_writer_double (w, "ap_ap_p_value", c->ap_ap_p_value);
  imp_json_writer_double (w, "ap_ap_p_uncorrected", c->ap_ap_p_uncorrected);
  imp_json_writer_boolean (w, "ap_ap_significant", c->ap_ap_significant);
  imp_json_writer_int (w, "ap_ap_hits", c->n_ap_ap_hits);
  imp_json_writer_double (w, "ap_ap_null_mean", c->ap_ap_null_mean);
  imp_json_writer_boolean (w, "artefact", c->artefact);
  imp_json_writer_double (w, "pre_ap_shift_mv", c->pre_ap_shift_mv);
#define MEMBER_DOUBLE(name) imp_json_writer_double (w, #name, c->name)
  MEMBER_DOUBLE (event_p_uncorrected);
  MEMBER_DOUBLE (wave_z);
  MEMBER_DOUBLE (wave_delay_ms);
  MEMBER_DOUBLE (crosstalk);
  MEMBER_DOUBLE (lead_z);
  MEMBER_DOUBLE (zero_z);
  MEMBER_DOUBLE (amplitude_norm);
  MEMBER_DOUBLE (rise_ms);
  MEMBER_DOUBLE (decay_ms);
  MEMBER_DOUBLE (spread_z);
  MEMBER_DOUBLE (direct_mv);
  MEMBER_DOUBLE (direct_z);
#undef MEMBER_DOUBLE
  add_psp_fit (w, &c->fit);
  imp_json_writer_string (w, "kinetics_from",
                          c->kinetics_isolated ? "isolated_trials"
                                               : "all_trials");
  imp_json_writer_boolean (w, "explained", c->explained);
  imp_json_writer_string (w, "explained_by",
                          c->explained_by < self->n_channels
                          ? self->labels[c->explained_by] : NULL);
  imp_json_writer_boolean (w, "common_input", c->common_input);
  imp_json_writer_boolean (w, "polysynaptic", c->polysynaptic);
  imp_json_writer_boolean (w, "transient", c->transient);
  imp_json_writer_floats (w, "trial_amplitudes_mv", c->trial_amplitudes,
                          c->trial_amplitudes != NULL ? c->n_trials : 0);
  add_quantal (w, &c->quantal);
  imp_json_writer_end_object (w);
}

static void
add_recording (JsonBuilder  *b,
               ImpRecording *recording)
{
  const char *path = imp_recording_get_path (recording);
  GStatBuf st;

  json_builder_set_member_name (b, "recording");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path != NULL ? path : "");
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, imp_recording_get_format (recording));
  if (path != NULL && g_stat (path, &st) == 0)
    {
      json_builder_set_member_name (b, "size_bytes");
      json_builder_add_int_value (b, (gint64) st.st_size);
      json_builder_set_member_name (b, "mtime");
      json_builder_add_int_value (b, (gint64) st.st_mtime);
    }
  /* what the reader repaired or could not read, as `imprint info` says */
  json_builder_set_member_name (b, "warning");
  if (imp_recording_get_warning (recording) != NULL)
    json_builder_add_string_value (b, imp_recording_get_warning (recording));
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

static void
add_channel_arrays (JsonBuilder       *b,
                    ImpAnalysisResult *self)
{
  guint i;

  json_builder_set_member_name (b, "labels");
  json_builder_begin_array (b);
  for (i = 0; i < self->n_channels; i++)
    json_builder_add_string_value (b, self->labels[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "access");
  json_builder_begin_array (b);
  for (i = 0; i < self->n_channels; i++)
    json_builder_add_string_value (b, imp_access_to_string (self->access[i]));
  json_builder_end_array (b);

  /* null for a channel without usable samples */
  json_builder_set_member_name (b, "noise_mv");
  json_builder_begin_array (b);
  for (i = 0; i < self->n_channels; i++)
    json_builder_add_double_value (b, self->noise_mv[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (i = 0; i < self->n_channels; i++)
    {
      const char *note = imp_analysis_result_get_note (self, i);

      json_builder_add_string_value (b, note != NULL ? note : "");
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "aps_per_channel");
  json_builder_begin_array (b);
  for (i = 0; i < self->n_channels; i++)
    json_builder_add_int_value (b, self->aps[i]->len);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "psps_per_channel");
  json_builder_begin_array (b);
  for (i = 0; i < self->n_channels; i++)
    json_builder_add_int_value (b, self->psps[i]->len);
  json_builder_end_array (b);
}

/* Writes @out to @file once it holds a megabyte (or when @all). */
static gboolean
flush_text (ImpOutputFile  *file,
            GString        *out,
            gboolean        all,
            GError        **error)
{
  if (!all && out->len < (1u << 20))
    return TRUE;
  if (!imp_output_file_write (file, out->str, out->len, error))
    return FALSE;
  g_string_truncate (out, 0);
  return TRUE;
}

/* The array member @name of the summary's top level, a candidate at a
 * time (the significant ones only with @significant_only), laid out as
 * the JSON generator lays out the rest of the document, but written
 * directly: a long recording's trial amplitudes are millions of numbers. */
static gboolean
write_candidates (ImpOutputFile      *file,
                  GString            *out,
                  ImpAnalysisResult  *self,
                  const char         *name,
                  gboolean            significant_only,
                  GError            **error)
{
  ImpJsonWriter w;
  guint i;

  g_string_append_printf (out, ",\n  \"%s\" : [", name);
  imp_json_writer_init (&w, out, 2);
  for (i = 0; i < self->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (self->candidates, i);

      if (significant_only && !c->significant)
        continue;
      add_candidate (&w, self, c);
      if (!flush_text (file, out, FALSE, error))
        return FALSE;
    }
  g_string_append (out, "\n  ]");
  return TRUE;
}

/**
 * imp_analysis_result_write_json:
 * @self: a result
 * @recording: (nullable): the recording it came from, for provenance
 * @path: the file to write (see imp_output_write_file(): a regular file is
 *   replaced atomically, a device or FIFO written to)
 * @error: return location for a #GError
 *
 * Writes the summary, the parameters and every candidate (without the
 * averages) as JSON; docs/analysis.md lists the keys. Numbers that are
 * not finite are written as null. The candidates are written one at a
 * time (each with its trial amplitudes, which a long recording has many
 * of), never the whole text at once.
 *
 * Returns: %TRUE on success
 */
gboolean
imp_analysis_result_write_json (ImpAnalysisResult  *self,
                                ImpRecording       *recording,
                                const char         *path,
                                GError            **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) out = NULL;
  g_autofree char *text = NULL;
  ImpOutputFile *file;
  gsize len;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "program");
  json_builder_add_string_value (b, "Imprint");
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, PACKAGE_VERSION);
  if (recording != NULL)
    add_recording (b, recording);
  json_builder_set_member_name (b, "channels");
  json_builder_add_int_value (b, self->n_channels);
  json_builder_set_member_name (b, "sample_rate_hz");
  json_builder_add_double_value (b, self->sample_rate);
  json_builder_set_member_name (b, "n_samples");
  json_builder_add_int_value (b, self->n_samples);
  add_params (b, &self->params);
  add_channel_arrays (b, self);
  json_builder_set_member_name (b, "warning");
  if (self->warning != NULL)
    json_builder_add_string_value (b, self->warning);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "pairs_tested");
  json_builder_add_int_value (b, (gint64) self->n_pairs_tested);
  json_builder_set_member_name (b, "connections");
  json_builder_add_int_value (b, self->n_connections);
  json_builder_set_member_name (b, "ap_ap_connections");
  json_builder_add_int_value (b, self->n_ap_ap_connections);
  /* Empty lists as the generator writes them; the others follow. */
  if (self->n_connections == 0)
    {
      json_builder_set_member_name (b, "connections_list");
      json_builder_begin_array (b);
      json_builder_end_array (b);
    }
  if (self->candidates->len == 0)
    {
      json_builder_set_member_name (b, "candidates");
      json_builder_begin_array (b);
      json_builder_end_array (b);
    }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  text = imp_output_json_to_data (root, TRUE, &len);
  g_clear_pointer (&root, json_node_unref);
  g_assert (len >= 2 && g_str_has_suffix (text, "\n}"));

  file = imp_output_file_open (path, error);
  if (file == NULL)
    return FALSE;
  out = g_string_new_len (text, (gssize) len - 2);
  g_clear_pointer (&text, g_free);
  ok = (self->n_connections == 0
        || write_candidates (file, out, self, "connections_list", TRUE,
                             error))
       && (self->candidates->len == 0
           || write_candidates (file, out, self, "candidates", FALSE,
                                error));
  if (ok)
    {
      g_string_append (out, "\n}");
      ok = flush_text (file, out, TRUE, error);
    }
  if (!ok)
    {
      imp_output_file_abort (file);
      return FALSE;
    }
  return imp_output_file_commit (file, error);
}

/**
 * _imp_analysis_set_keep_max_bytes:
 * @bytes: the most that the measurement of the candidates may keep of
 *   their trials for its second pass; 0 to read them again
 *
 * For tests, which check that both ways give the same results (see also
 * _imp_psc_set_keep_max_bytes()). Not thread safe: call it before an
 * analysis runs.
 */
void
_imp_analysis_set_keep_max_bytes (gsize bytes)
{
  measure_keep_bytes = bytes;
}
