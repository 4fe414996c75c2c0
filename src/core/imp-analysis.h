/* imp-analysis.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "imp-map.h"
#include "imp-progress.h"
#include "imp-quantal.h"
#include "imp-kinetics.h"
#include "imp-recording.h"

G_BEGIN_DECLS

/* Parameters, each with its unit and default (see docs/analysis.md). */
typedef struct
{
  double ap_threshold_sd;     /* AP: dV/dt above this many robust SDs, default 8 */
  double ap_min_height_mv;    /* AP: peak above local baseline, default 20 mV */
  double ap_refractory_ms;    /* default 2 ms */
  double psp_threshold_sd;    /* PSP detection threshold, default 4 */
  double window_pre_ms;       /* average window before the AP, default 5 ms */
  double window_post_ms;      /* after the AP, default 25 ms; the analysis
                                 widens it to at least latency_max_ms +
                                 IMP_ANALYSIS_DECAY_MARGIN_MS */
  double latency_min_ms;      /* shortest accepted synaptic latency, default 0.5 ms */
  double latency_max_ms;      /* longest, default 10 ms */
  double alpha;               /* significance level after correction, default 0.001 */
  guint  n_surrogates;        /* surrogate trains for the null, default 200 */
  guint64 seed;               /* surrogate RNG seed, default 1 */
  double jitter_ms;           /* surrogates move each pre AP by up to this,
                                 default 50 ms */
  guint  min_pre_aps;         /* a pre channel needs this many APs, default 3 */
  double candidate_p_max;     /* pairs kept as candidates (with evidence)
                                 below this uncorrected p, default 0.01 */
  guint  max_candidates;      /* at most this many of them that are not
                                 significant, the lowest p first, default
                                 2000; significant pairs are always kept */
  /* The waveform test (docs/analysis.md) */
  double deconv_tau_ms;       /* membrane decay removed by deconvolution,
                                 default 15 ms */
  double psc_window_ms;       /* width of the summed window, default 2 ms */
  double baseline_ms;         /* each flank of a trial's local baseline,
                                 default 10 ms */
  double lead_ms;             /* how far before the AP the common-input
                                 check looks, default 10 ms */
  double ap_blank_ms;         /* a cell's own AP is left out from 1 ms
                                 before its peak to this after, default 3 ms */
  double common_input_z;      /* a same-sign response before the AP at this
                                 t statistic marks common input, default 3.5 */
  double spread_z;            /* PSP onsets spread beyond the best window at
                                 this z mark a response that is not
                                 time-locked (polysynaptic), default 3 */
  ImpQuantalParams quantal;   /* the quantal fit of each candidate */
} ImpAnalysisParams;

/* 8 bytes: a long recording has tens of millions of PSPs. */
typedef struct
{
  guint32 sample;      /* AP peak (or PSP onset) in recording sample index */
  float   amplitude;   /* AP height (mV) or PSP amplitude (mV, signed) */
} ImpEvent;

/* The longest recording imp_analysis_run() analyses, in samples per
 * channel: every sample index must fit an ImpEvent (2^32 samples, 5.5
 * days at 9 kHz, 24 hours at 50 kHz). */
#define IMP_ANALYSIS_MAX_SAMPLES (G_GINT64_CONSTANT (1) << 32)

/* The average window reaches at least this far beyond latency_max_ms, to
 * show a late PSP's peak and the start of its decay. */
#define IMP_ANALYSIS_DECAY_MARGIN_MS 15.0

/* A trial enters the quantal fit only when no other presynaptic AP comes
 * this long before it (or before the end of its window): the decay of an
 * earlier PSP, or a later one, would add to its amplitude. */
#define IMP_ANALYSIS_ISOLATION_MS 60.0

/* One ordered pair tested, significant or not. */
typedef struct
{
  guint   pre;
  guint   post;
  char    sign;            /* 'E', 'I' */
  double  amplitude_mv;    /* signed mean PSP amplitude */
  double  latency_ms;
  double  p_value;
  guint   n_pre_aps;
  gboolean significant;
  /* AP->AP comparison for the same pair */
  double  ap_ap_p_value;
  gboolean ap_ap_significant;
  /* evidence */
  float  *average;         /* AP-triggered average of post Vm, mV, baseline removed */
  guint   average_len;     /* samples; sample 0 is window_pre_ms before the AP */
  float  *trial_amplitudes;/* per trial (n_trials of them), mV */
  guint   n_trials;
  /* test details; p_value and ap_ap_p_value above are corrected for
   * multiple comparisons (Benjamini-Hochberg q-values) */
  double  p_uncorrected;
  double  ap_ap_p_uncorrected;
  guint   n_hits;          /* post PSPs of the sign in the latency window */
  double  null_mean;       /* the same count expected under the null */
  guint   n_ap_ap_hits;    /* post APs in the AP->AP window */
  double  ap_ap_null_mean;
  /* the post signal already moves before the presynaptic AP peak
   * (stimulus or electrical crosstalk): never significant */
  gboolean artefact;
  double  pre_ap_shift_mv; /* mean shift over the last ms before the AP */
  /* the waveform test (p_uncorrected is its p), and the event counts'
   * p-value (n_hits, null_mean) kept beside it */
  double  event_p_uncorrected;
  double  wave_z;          /* signed t statistic of the best window */
  double  wave_delay_ms;   /* where that window starts */
  double  crosstalk;       /* zero-latency coupling removed, fraction */
  double  lead_z;          /* same-sign response before the AP */
  gboolean common_input;   /* never significant */
  double  zero_z;          /* what is left at zero latency after crosstalk */
  gboolean transient;      /* a zero-latency transient: an artefact */
  /* The onset test (docs/analysis.md): z of the same-sign PSP onsets
   * after the AP that fall outside the best psc_window_ms window, beyond
   * those inside it and what the presynaptic cell's own later APs would
   * spread; NAN when not measured. At spread_z the response is not
   * time-locked to the AP (a chain through another cell): never
   * significant. */
  double  spread_z;
  gboolean polysynaptic;
  /* Explained by another input (docs/analysis.md): a significant
   * candidate's trial amplitudes regressed on the other significant
   * inputs of the post (each one's fitted PSP over its APs); the
   * intercept is the direct response (direct_mv, signed; direct_z its
   * z), NAN when not measured. Explained when no direct response is
   * left: never significant; explained_by is then the input that reached
   * the most trials (else G_MAXUINT). */
  double  direct_mv;
  double  direct_z;
  guint   explained_by;
  gboolean explained;
  double  amplitude_norm;  /* amplitude_mv / mean presynaptic AP height */
  /* A PSP fitted to the average (docs/analysis.md, "Onset, rise and
   * decay"): latency_ms is its onset; rise_ms and decay_ms are those of
   * the isolated trials' fit when there are enough of them */
  ImpPspFit fit;
  double  rise_ms;         /* 20-80 % rise of the fitted PSP */
  double  decay_ms;        /* its peak to half-decay */
  gboolean kinetics_isolated;  /* those two from the isolated trials' fit */
  /* The amplitudes the quantal fit uses (mV, signed): those of the
   * trials without another presynaptic AP from
   * IMP_ANALYSIS_ISOLATION_MS before the AP to the end of the window, each
   * the least-squares multiple of the average over the whole window (with
   * a level and a linear trend); NULL when none. */
  float  *quantal_amplitudes;
  guint   n_quantal_trials;
  ImpQuantalFit quantal;
} ImpCandidate;

typedef struct
{
  gatomicrefcount   ref_count;
  guint             n_channels;
  double            sample_rate;
  ImpAnalysisParams params;
  char            **labels;          /* n_channels */
  ImpAccess        *access;          /* n_channels, as detected */
  double           *noise_mv;        /* robust noise SD per channel */
  GArray          **aps;             /* n_channels arrays of ImpEvent,
                                        sorted by sample */
  GArray          **psps;            /* n_channels arrays of ImpEvent,
                                        sorted by sample */
  GPtrArray        *candidates;      /* ImpCandidate*, significant AP->PSP first,
                                        sorted by p_value; the significant
                                        pairs and at most max_candidates
                                        others */
  guint             n_connections;   /* significant AP->PSP */
  guint             n_ap_ap_connections;
  guint64           n_pairs_tested;  /* ordered pairs with a test */
  gint64            n_samples;
  double           *median_mv;       /* n_channels, median level; NAN
                                        without usable samples */
  /* Why a channel was not analysed or only in part: n_channels strings,
   * "" for none (a NULL-terminated strv); may be NULL in results not made
   * by imp_analysis_run(). Use imp_analysis_result_get_note(). */
  char            **notes;
  /* Channels skipped for having no signal, and channels with NaN or
   * infinite samples, one line each; NULL when there is nothing to say. */
  char             *warning;
} ImpAnalysisResult;

void               imp_analysis_params_init_default (ImpAnalysisParams  *params);
gboolean           imp_analysis_params_validate     (const ImpAnalysisParams  *params,
                                                     GError                  **error);
void               imp_analysis_params_normalise    (ImpAnalysisParams  *params);

ImpAnalysisResult *imp_analysis_run          (ImpRecording             *recording,
                                              const ImpAnalysisParams  *params,
                                              ImpProgressFunc           progress,
                                              gpointer                  user_data,
                                              GCancellable             *cancellable,
                                              GError                  **error);

ImpAnalysisResult *imp_analysis_result_ref   (ImpAnalysisResult        *self);
void               imp_analysis_result_unref (ImpAnalysisResult        *self);

const char        *imp_analysis_result_get_note (ImpAnalysisResult   *self,
                                                 guint                channel);

/* The significant AP->PSP connections as map rows. */
GArray            *imp_analysis_result_to_map (ImpAnalysisResult       *self);
gboolean           imp_analysis_result_write_json (ImpAnalysisResult   *self,
                                                   ImpRecording        *recording,
                                                   const char          *path,
                                                   GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpAnalysisResult, imp_analysis_result_unref)

G_END_DECLS
