/* imp-detect.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <math.h>

#include <glib.h>

#include "imp-analysis.h"

G_BEGIN_DECLS

/* Detection kernels on one channel's samples in memory (mV, @n samples at
 * @sample_rate Hz). They know nothing of files or blocks: the caller passes
 * a segment with enough margin and keeps the events it wants. Event sample
 * indices are @first_sample + the index into @x. See docs/analysis.md. */

/* Smoothing and slope spans of the PSP detector, in ms. */
#define IMP_DETECT_PSP_SMOOTH_MS  2.0
#define IMP_DETECT_PSP_SLOPE_MS   2.0
/* An AP must fall by half the minimum height within this time of its
 * peak (a current step or a large PSP does not). */
#define IMP_DETECT_AP_MAX_FALL_MS 5.0
/* An AP must stay above a quarter of its height (over its baseline) for
 * at least this long, between the interpolated crossings: spikes of one or
 * two samples at 10 kHz do not. In our test data the narrowest real APs
 * (99111002.nwb, 10 kHz) are 0.40 ms wide there (0.24 ms at half height),
 * its one-sample artefacts at most 0.17 ms, and a two-sample pulse would
 * be about 0.25 ms. */
#define IMP_DETECT_AP_MIN_WIDTH_MS 0.3

/* Samples that are not finite, or larger than this in magnitude, are
 * corrupt: the kernels treat them as gaps in the recording. No membrane
 * potential (mV) or current (pA) comes near it, and far beyond it a
 * running sum in double precision would lose the signal next to such a
 * sample. */
#define IMP_DETECT_MAX_ABS        1e6

/**
 * imp_detect_usable:
 * @v: a sample
 *
 * Returns: whether @v is a real sample rather than a gap (not finite, or
 *   beyond ±IMP_DETECT_MAX_ABS)
 */
static inline gboolean
imp_detect_usable (float v)
{
  /* One comparison, false for NaN and infinities too: loops that call it
   * stay free of branches and vectorise. */
  return fabsf (v) < (float) IMP_DETECT_MAX_ABS;
}

/* The number of samples of x[0..n) that are not usable (vectorises: the
 * count runs in 32 bits, four to a vector, over pieces of up to 2^30). */
static inline gsize
imp_detect_count_gaps (const float *x,
                       gsize        n)
{
  gsize bad = 0;

  for (gsize from = 0; from < n; from += (gsize) 1 << 30)
    {
      gsize to = MIN (n, from + ((gsize) 1 << 30));
      guint32 part = 0;

      for (gsize i = from; i < to; i++)
        part += !imp_detect_usable (x[i]);
      bad += part;
    }
  return bad;
}

double    imp_detect_median          (float                   *x,
                                      gsize                    n);
double    imp_detect_robust_sd       (const float             *x,
                                      gsize                    n);
double    imp_detect_noise_sd        (const float             *x,
                                      gsize                    n);

gsize     imp_detect_aps             (const float             *x,
                                      gsize                    n,
                                      double                   sample_rate,
                                      const ImpAnalysisParams *params,
                                      gint64                   first_sample,
                                      GArray                  *aps);

gsize     imp_detect_aps_full        (const float             *x,
                                      gsize                    n,
                                      double                   sample_rate,
                                      const ImpAnalysisParams *params,
                                      gint64                   first_sample,
                                      GArray                  *aps,
                                      GArray                  *artefacts);

gsize     imp_detect_psps            (const float             *x,
                                      gsize                    n,
                                      double                   sample_rate,
                                      const ImpAnalysisParams *params,
                                      gint64                   first_sample,
                                      const ImpEvent          *aps,
                                      guint                    n_aps,
                                      GArray                  *psps);

gsize     imp_detect_steps           (const float             *x,
                                      gsize                    n,
                                      double                   sample_rate,
                                      gint64                   first_sample,
                                      GArray                  *steps);

ImpAccess imp_detect_classify_access (const char              *unit,
                                      guint                    n_aps,
                                      double                   median_level);

gboolean  imp_detect_is_voltage      (const char              *unit);

guint64   imp_detect_count_lagged    (const gint64            *pre,
                                      guint                    n_pre,
                                      const gint64            *post,
                                      guint                    n_post,
                                      gint64                   lag_lo,
                                      gint64                   lag_hi);

double    imp_detect_surrogate_p     (guint64                  observed,
                                      const guint64           *surrogates,
                                      guint                    n_surrogates);

void      imp_detect_bh_adjust       (const double            *p,
                                      gsize                    m,
                                      double                  *q);

guint     imp_detect_lower_bound (const gint64 *v,
                                  guint         n,
                                  gint64        key);
guint     imp_detect_first_event (GArray       *events,
                                  gint64        sample);

G_END_DECLS
