/* imp-detect.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "imp-detect.h"

/* MAD / 0.6745 is the SD of a normal distribution. */
#define MAD_TO_SD (1.0 / 0.6744897501960817)
/* The AP slope threshold never drops below this, in mV/ms, so a channel
 * without noise (synthetic or heavily filtered) is not searched for APs in
 * every rising sample. */
#define AP_SLOPE_FLOOR_MV_MS 1.0
/* The peak is searched for this long after the slope crossing, then
 * followed uphill for at most AP_MAX_CLIMB_MS. */
#define AP_PEAK_SEARCH_MS 2.0
#define AP_MAX_CLIMB_MS   5.0
/* The baseline under an AP is the median over this span before the
 * crossing. */
#define AP_BASE_FROM_MS   3.0
#define AP_BASE_TO_MS     0.3
/* PSP detection ignores this span around each AP peak (plus the detector's
 * own reach), and after it as long as the slope stays high (the AP's
 * after-hyperpolarisation), up to PSP_BLANK_MAX_MS. */
#define PSP_BLANK_BEFORE_MS 2.0
#define PSP_BLANK_AFTER_MS  3.0
#define PSP_BLANK_MAX_MS    50.0
/* A PSP's amplitude is its extreme within this time of its steepest rise. */
#define PSP_PEAK_SEARCH_MS  5.0

static inline void
swap_float (float *a,
            float *b)
{
  float t = *a;

  *a = *b;
  *b = t;
}

/* Moves the values of x[lo..hi) below @pivot to the front and returns
 * where the rest begins. Swapping every value and advancing only past the
 * small ones keeps the front below @pivot and the rest at or above it,
 * without a branch on the data (half of those would be mispredicted). */
static inline gsize
partition_below (float *x,
                 gsize  lo,
                 gsize  hi,
                 float  pivot)
{
  gsize store = lo;

  for (gsize i = lo; i < hi; i++)
    {
      float v = x[i];

      x[i] = x[store];
      x[store] = v;
      store += v < pivot;
    }
  return store;
}

/* The same for values at most @pivot, when none is below it. */
static inline gsize
partition_equal (float *x,
                 gsize  lo,
                 gsize  hi,
                 float  pivot)
{
  gsize store = lo;

  for (gsize i = lo; i < hi; i++)
    {
      float v = x[i];

      x[i] = x[store];
      x[store] = v;
      store += v <= pivot;
    }
  return store;
}

static inline float
median_of_3 (float a,
             float b,
             float c)
{
  return MAX (MIN (a, b), MIN (MAX (a, b), c));
}

/* Returns the k-th smallest of x[0..n) (no NaN), reordering x so that
 * nothing before index k is larger: quickselect with a median-of-three
 * pivot and a three-way split (below, equal, above), so that runs of equal
 * values (a flat signal) cost no more than distinct ones. */
static float
select_kth (float *x,
            gsize  n,
            gsize  k)
{
  gsize lo = 0;
  gsize hi = n;

  g_assert (k < n);

  while (hi - lo > 16)
    {
      float pivot = median_of_3 (x[lo], x[lo + (hi - lo) / 2], x[hi - 1]);
      gsize below = partition_below (x, lo, hi, pivot);
      gsize equal;

      if (k < below)
        {
          hi = below;
          continue;
        }
      equal = partition_equal (x, below, hi, pivot);
      if (k < equal)
        return pivot;
      lo = equal;
    }

  /* A few left: insertion sort. */
  for (gsize i = lo + 1; i < hi; i++)
    {
      float v = x[i];
      gsize j = i;

      for (; j > lo && x[j - 1] > v; j--)
        x[j] = x[j - 1];
      x[j] = v;
    }
  return x[k];
}

/**
 * imp_detect_median:
 * @x: (inout) (array length=n): values; reordered
 * @n: count
 *
 * Values that are not usable (imp_detect_usable(): NaN, infinite or
 * corrupt) are ignored.
 *
 * Returns: the median of the usable values (mean of the two middle values
 *   for an even count), or NAN when there are none
 */
double
imp_detect_median (float *x,
                   gsize  n)
{
  double upper;
  float lower;
  gsize i, m = 0;

  g_return_val_if_fail (x != NULL || n == 0, NAN);

  /* Usable values to the front; selection needs a total order, which NaN
   * would break. */
  for (i = 0; i < n; i++)
    if (imp_detect_usable (x[i]))
      swap_float (&x[m++], &x[i]);
  if (m == 0)
    return NAN;

  upper = select_kth (x, m, m / 2);
  if (m % 2 == 1)
    return upper;

  /* After selection, the lower middle is the largest of the lower part. */
  lower = x[0];
  for (i = 1; i < m / 2; i++)
    lower = MAX (lower, x[i]);
  return 0.5 * (lower + upper);
}

/* Long inputs are summarised from an evenly strided subsample of at least
 * this many values: the MAD of 2048 values is within about 3 % (one SE) of
 * that of all of them, and selection on a few thousand values costs tens
 * of microseconds, which adds up over thousands of channel blocks. */
#define ROBUST_MAX_VALUES 2048

/**
 * imp_detect_robust_sd:
 * @x: (array length=n): values
 * @n: count
 *
 * The median absolute deviation from the median, scaled to the SD of a
 * normal distribution: insensitive to a minority of large events. Inputs
 * longer than 4096 values are summarised from an evenly strided subsample
 * of at least 2048 of them. Values that are not usable
 * (imp_detect_usable()) are ignored.
 *
 * Returns: the robust SD, in the unit of @x, or NAN without usable values
 */
double
imp_detect_robust_sd (const float *x,
                      gsize        n)
{
  g_autofree float *work = NULL;
  gsize stride, m = 0, i;
  double median;

  g_return_val_if_fail (x != NULL || n == 0, NAN);

  if (n == 0)
    return NAN;

  stride = MAX (n / ROBUST_MAX_VALUES, 1);
  if (stride < 2)
    stride = 1;
  work = g_new (float, (n + stride - 1) / stride);
  for (i = 0; i < n; i += stride)
    if (imp_detect_usable (x[i]))
      work[m++] = x[i];
  median = imp_detect_median (work, m);
  if (isnan (median))
    return NAN;
  for (i = 0; i < m; i++)
    work[i] = fabsf (work[i] - (float) median);

  return imp_detect_median (work, m) * MAD_TO_SD;
}

/**
 * imp_detect_noise_sd:
 * @x: (array length=n): samples
 * @n: count
 *
 * The SD of white recording noise, from the robust SD of the first
 * difference divided by √2. Slow signals (PSPs, drift) barely change the
 * first difference, and APs are too rare to move its median. Differences
 * next to a gap (a sample that is not usable) are left out.
 *
 * Returns: the noise SD, in the unit of @x, or NAN without two usable
 *   neighbouring samples
 */
double
imp_detect_noise_sd (const float *x,
                     gsize        n)
{
  g_autofree float *diff = NULL;
  gsize i, m = 0;

  g_return_val_if_fail (x != NULL || n == 0, NAN);

  if (n < 2)
    return NAN;

  diff = g_new (float, n - 1);
  if (imp_detect_count_gaps (x, n) == 0)
    {
      /* The usual case, without gaps: every difference (vectorises). */
      for (i = 0; i + 1 < n; i++)
        diff[i] = x[i + 1] - x[i];
      m = n - 1;
    }
  else
    for (i = 0; i + 1 < n; i++)
      if (imp_detect_usable (x[i]) && imp_detect_usable (x[i + 1]))
        diff[m++] = x[i + 1] - x[i];

  return imp_detect_robust_sd (diff, m) / G_SQRT2;
}

static inline gsize
ms_to_samples (double ms,
               double sample_rate)
{
  return (gsize) MAX (1.0, round (ms * sample_rate / 1000.0));
}

static double
segment_median (const float *x,
                gsize        from,
                gsize        to)
{
  g_autofree float *work = g_memdup2 (x + from, (to - from) * sizeof (float));

  return imp_detect_median (work, to - from);
}

/* What makes an AP, in samples and mV. */
typedef struct
{
  double threshold;     /* slope, mV per sample */
  double min_height;
  double min_width;     /* samples between the quarter-height crossings */
  gsize  search, climb, refractory, fall, base_from, base_to;
} ApCriteria;

/* The width of the peak at @peak above @level, in samples between the
 * linearly interpolated crossings, looking no further than [lo, hi]. */
static double
width_at (const float *x,
            gsize        lo,
            gsize        hi,
            gsize        peak,
            double       level)
{
  gsize a = peak, b = peak;
  double left = lo, right = hi;

  g_assert (lo <= peak && peak <= hi);

  while (a > lo && x[a - 1] > level)
    a--;
  while (b < hi && x[b + 1] > level)
    b++;
  if (a > lo)
    left = (a - 1) + (level - x[a - 1]) / ((double) x[a] - x[a - 1]);
  if (b < hi)
    right = b + ((double) x[b] - level) / ((double) x[b] - x[b + 1]);
  return right - left;
}

/* imp_detect_aps() on one stretch x[0..n) without gaps; @diff is its first
 * difference. */
static gsize
aps_in_run (const float      *x,
            const float      *diff,
            gsize             n,
            const ApCriteria *ap,
            gint64            first_sample,
            GArray           *aps,
            GArray           *artefacts)
{
  gsize next_allowed = 0;
  gsize n_found = 0;
  gboolean armed = TRUE;
  gsize i;

  for (i = 0; i + 1 < n; i++)
    {
      gsize peak, end, j;
      double baseline, height, lowest;

      if (!armed)
        {
          armed = diff[i] < ap->threshold;
          continue;
        }
      if (diff[i] <= ap->threshold || i < next_allowed)
        continue;
      armed = FALSE;

      /* The highest point shortly after the crossing, then uphill. */
      end = MIN (n - 1, i + ap->search);
      peak = i + 1;
      for (j = i + 1; j <= end; j++)
        if (x[j] > x[peak])
          peak = j;
      while (peak + 1 < n && x[peak + 1] > x[peak] && peak - i < ap->climb)
        peak++;

      if (i >= ap->base_from)
        baseline = segment_median (x, i - ap->base_from,
                                   i - ap->base_to + 1);
      else if (i >= ap->base_to)
        baseline = segment_median (x, 0, i - ap->base_to + 1);
      else
        baseline = x[i];
      height = x[peak] - baseline;
      if (height < ap->min_height)
        continue;

      /* Repolarisation: a step of injected current does not come down. */
      if (peak + ap->fall >= n)
        continue;
      lowest = x[peak];
      for (j = peak; j <= peak + ap->fall; j++)
        lowest = MIN (lowest, x[j]);
      if (x[peak] - lowest < 0.5 * ap->min_height)
        continue;

      /* Width near its foot: an artefact of a sample or two is not an AP. */
      if (width_at (x, peak - MIN (peak, ap->base_from + ap->search
                                         + ap->climb),
                    peak + ap->fall, peak, baseline + 0.25 * height)
          < ap->min_width)
        {
          ImpEvent ev = { (guint32) (first_sample + (gint64) peak), (float) height };

          if (artefacts != NULL)
            g_array_append_val (artefacts, ev);
          continue;
        }

      {
        ImpEvent ev = { (guint32) (first_sample + (gint64) peak), (float) height };

        g_array_append_val (aps, ev);
      }
      n_found++;
      next_allowed = peak + MAX (ap->refractory, 1);
      i = peak;
    }

  return n_found;
}

/**
 * imp_detect_aps_full:
 * @x: (array length=n): membrane potential, mV
 * @n: samples
 * @sample_rate: Hz
 * @params: uses ap_threshold_sd, ap_min_height_mv, ap_refractory_ms
 * @first_sample: recording index of x[0]
 * @aps: (element-type ImpEvent): appended to: peak sample and height (mV)
 * @artefacts: (element-type ImpEvent) (nullable): appended to: the spikes
 *   rejected only for being narrower than IMP_DETECT_AP_MIN_WIDTH_MS, in
 *   the same form (PSP detection should stay away from them too)
 *
 * An AP starts where the slope (first difference) exceeds ap_threshold_sd
 * robust SDs of the slope. Its peak is the maximum within 2 ms, followed
 * uphill. It counts when the peak stands ap_min_height_mv above the median
 * of the 3 ms before the crossing, the signal falls by half that height
 * within IMP_DETECT_AP_MAX_FALL_MS of the peak, and it stays above a
 * quarter of the height for at least IMP_DETECT_AP_MIN_WIDTH_MS. Crossings
 * less than ap_refractory_ms after the last peak are ignored. APs too
 * close to the end of @x for the fall to be seen are not reported.
 *
 * Samples that are not usable (imp_detect_usable()) are gaps: the slope's
 * SD ignores them, and each stretch between gaps is searched on its own,
 * so no AP or any part of its measurement touches a gap.
 *
 * Returns: the number of APs appended
 */
gsize
imp_detect_aps_full (const float             *x,
                     gsize                    n,
                     double                   sample_rate,
                     const ImpAnalysisParams *params,
                     gint64                   first_sample,
                     GArray                  *aps,
                     GArray                  *artefacts)
{
  g_autofree float *diff = NULL;
  ApCriteria ap;
  gsize n_found = 0;
  gsize i, start;

  g_return_val_if_fail (x != NULL || n == 0, 0);
  g_return_val_if_fail (sample_rate > 0, 0);
  g_return_val_if_fail (params != NULL, 0);
  g_return_val_if_fail (aps != NULL, 0);

  if (n < 3)
    return 0;

  diff = g_new (float, n - 1);
  for (i = 0; i + 1 < n; i++)
    {
      /* Without a branch, so that it vectorises: the difference is taken
       * whatever the samples, then replaced where one is a gap. */
      gboolean ok = imp_detect_usable (x[i]) & imp_detect_usable (x[i + 1]);
      float step = x[i + 1] - x[i];

      diff[i] = ok ? step : NAN;
    }
  ap.threshold = MAX (params->ap_threshold_sd
                      * imp_detect_robust_sd (diff, n - 1),
                      AP_SLOPE_FLOOR_MV_MS * 1000.0 / sample_rate);
  if (!isfinite (ap.threshold))
    return 0;   /* no two usable neighbouring samples */
  ap.min_height = params->ap_min_height_mv;
  ap.min_width = IMP_DETECT_AP_MIN_WIDTH_MS * sample_rate / 1000.0;
  ap.search = ms_to_samples (AP_PEAK_SEARCH_MS, sample_rate);
  ap.climb = ms_to_samples (AP_MAX_CLIMB_MS, sample_rate);
  ap.refractory = (gsize) round (params->ap_refractory_ms * sample_rate
                                 / 1000.0);
  ap.fall = ms_to_samples (IMP_DETECT_AP_MAX_FALL_MS, sample_rate);
  ap.base_from = ms_to_samples (AP_BASE_FROM_MS, sample_rate);
  ap.base_to = ms_to_samples (AP_BASE_TO_MS, sample_rate);

  /* Each stretch of usable samples on its own. */
  for (start = 0; start < n;)
    {
      gsize stop;

      if (!imp_detect_usable (x[start]))
        {
          start++;
          continue;
        }
      for (stop = start + 1; stop < n && imp_detect_usable (x[stop]); stop++)
        ;
      n_found += aps_in_run (x + start, diff + start, stop - start, &ap,
                             first_sample + (gint64) start, aps, artefacts);
      start = stop;
    }

  return n_found;
}

/**
 * imp_detect_aps:
 * @x: (array length=n): membrane potential, mV
 * @n: samples
 * @sample_rate: Hz
 * @params: uses ap_threshold_sd, ap_min_height_mv, ap_refractory_ms
 * @first_sample: recording index of x[0]
 * @aps: (element-type ImpEvent): appended to: peak sample and height (mV)
 *
 * imp_detect_aps_full() without the artefacts.
 *
 * Returns: the number of APs appended
 */
gsize
imp_detect_aps (const float             *x,
                gsize                    n,
                double                   sample_rate,
                const ImpAnalysisParams *params,
                gint64                   first_sample,
                GArray                  *aps)
{
  return imp_detect_aps_full (x, n, sample_rate, params, first_sample, aps,
                              NULL);
}

/* Centred moving average of width 2 * half + 1; NAN within @half of
 * either end and wherever the window holds a sample that is not usable. */
static void
moving_average (const float *x,
                gsize        n,
                gsize        half,
                float       *out)
{
  double sum = 0;
  gsize width = 2 * half + 1;
  gsize bad = 0;
  gsize i;

  for (i = 0; i < n; i++)
    out[i] = NAN;
  if (n < width)
    return;

  /* Unusable samples count as 0 in the sum and are counted apart, so the
   * sum stays finite past them. */
  for (i = 0; i < width; i++)
    {
      if (imp_detect_usable (x[i]))
        sum += x[i];
      else
        bad++;
    }
  out[half] = bad > 0 ? NAN : (float) (sum / width);
  for (i = half + 1; i + half < n; i++)
    {
      float in = x[i + half];
      float gone = x[i - half - 1];

      if (imp_detect_usable (in))
        sum += in;
      else
        bad++;
      if (imp_detect_usable (gone))
        sum -= gone;
      else
        bad--;
      out[i] = bad > 0 ? NAN : (float) (sum / width);
    }
}

static void
blank_range (guint8 *mask,
             gsize   n,
             gint64  from,
             gint64  to)
{
  gint64 i;

  from = MAX (from, 0);
  to = MIN (to, (gint64) n);
  for (i = from; i < to; i++)
    mask[i] = 1;
}

/**
 * imp_detect_psps:
 * @x: (array length=n): membrane potential, mV
 * @n: samples
 * @sample_rate: Hz
 * @params: uses psp_threshold_sd
 * @first_sample: recording index of x[0]
 * @aps: (array length=n_aps) (nullable): the channel's APs, recording
 *   indices, sorted; PSPs are not searched around them
 * @n_aps: count
 * @psps: (element-type ImpEvent): appended to: time of steepest rise or
 *   fall and signed amplitude (mV)
 *
 * The signal is smoothed by a centred IMP_DETECT_PSP_SMOOTH_MS moving
 * average s; the slope is d(t) = s(t + T/2) - s(t - T/2) with
 * T = IMP_DETECT_PSP_SLOPE_MS. A PSP is an excursion of d beyond
 * ±psp_threshold_sd robust SDs of d (positive: excitatory, negative:
 * inhibitory), ending when d falls back below half the threshold. Its time
 * is the excursion's steepest point, which lies within about a millisecond
 * after the onset; its amplitude is the extreme of s within 5 ms after that
 * point (or up to the blanking of the next AP) minus s one slope span
 * before it.
 *
 * Samples that are not usable (imp_detect_usable()) are gaps: the slope's
 * SD ignores them, no PSP is reported whose slope or amplitude would read
 * a gap, and a gap is blanked like an AP (one may hide in it).
 *
 * Returns: the number of PSPs appended
 */
gsize
imp_detect_psps (const float             *x,
                 gsize                    n,
                 double                   sample_rate,
                 const ImpAnalysisParams *params,
                 gint64                   first_sample,
                 const ImpEvent          *aps,
                 guint                    n_aps,
                 GArray                  *psps)
{
  g_autofree float *s = NULL;
  g_autofree float *d = NULL;
  g_autofree guint8 *mask = NULL;
  g_autofree float *work = NULL;
  g_autoptr(GArray) spans = NULL;
  gsize h, span, half, reach, lo, hi, peak_search, t, n_work = 0;
  gsize n_found = 0;
  double threshold;
  guint a;

  g_return_val_if_fail (x != NULL || n == 0, 0);
  g_return_val_if_fail (sample_rate > 0, 0);
  g_return_val_if_fail (params != NULL, 0);
  g_return_val_if_fail (aps != NULL || n_aps == 0, 0);
  g_return_val_if_fail (psps != NULL, 0);

  h = ms_to_samples (IMP_DETECT_PSP_SMOOTH_MS, sample_rate) / 2;
  span = ms_to_samples (IMP_DETECT_PSP_SLOPE_MS, sample_rate);
  half = span / 2;
  reach = h + span - half;   /* d(t) reads x[t - half - h .. t + reach] */
  peak_search = ms_to_samples (PSP_PEAK_SEARCH_MS, sample_rate);
  if (n <= 2 * (reach + half + h) + 2)
    return 0;
  lo = half + h + span;      /* room for the amplitude's baseline */
  hi = n - reach;

  s = g_new (float, n);
  moving_average (x, n, h, s);
  d = g_new0 (float, n);
  for (t = half + h; t < hi; t++)
    d[t] = s[t + span - half] - s[t - half];

  /* What is blanked: each AP, and each gap, where an AP may hide (whose
   * remains would look like PSPs). Spans of local indices [from, to]. */
  spans = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (a = 0; a < n_aps; a++)
    {
      gint64 r = aps[a].sample - first_sample;

      g_array_append_val (spans, r);
      g_array_append_val (spans, r);
    }
  for (t = imp_detect_count_gaps (x, n) > 0 ? 0 : n; t < n; t++)
    if (!imp_detect_usable (x[t]))
      {
        gint64 from = (gint64) t, to;

        while (t + 1 < n && !imp_detect_usable (x[t + 1]))
          t++;
        to = (gint64) t;
        g_array_append_val (spans, from);
        g_array_append_val (spans, to);
      }

  /* Fixed blanking around each, widened by the detector's reach. */
  mask = g_new0 (guint8, n);
  for (a = 0; a < spans->len; a += 2)
    blank_range (mask, n,
                 g_array_index (spans, gint64, a)
                 - (gint64) (ms_to_samples (PSP_BLANK_BEFORE_MS, sample_rate)
                             + reach),
                 g_array_index (spans, gint64, a + 1)
                 + (gint64) (ms_to_samples (PSP_BLANK_AFTER_MS, sample_rate)
                             + reach));

  work = g_new (float, n);
  for (t = lo; t < hi; t++)
    if (!mask[t] && !isnan (d[t]))
      work[n_work++] = d[t];
  if (n_work < 16)
    return 0;
  threshold = params->psp_threshold_sd * imp_detect_robust_sd (work, n_work);
  if (!(threshold > 0))
    return 0;

  /* After each, blank on while the slope stays high (an AP's AHP). */
  for (a = 0; a < spans->len; a += 2)
    {
      gint64 r = g_array_index (spans, gint64, a + 1);
      gint64 from = r + (gint64) (ms_to_samples (PSP_BLANK_AFTER_MS,
                                                 sample_rate) + reach);
      gint64 limit = r + (gint64) ms_to_samples (PSP_BLANK_MAX_MS,
                                                 sample_rate);
      gint64 k;

      for (k = MAX (from, 0); k < MIN (limit, (gint64) n); k++)
        {
          if (!(fabsf (d[k]) >= 0.5 * threshold))
            break;
          mask[k] = 1;
        }
    }

  /* d is NAN wherever its window touches a gap, so no excursion starts or
   * runs there: the comparisons are written to be false for NAN. */
  t = lo;
  while (t < hi)
    {
      int sign;
      gsize best, end, j;
      double base, extreme;
      gboolean whole = TRUE;

      if (mask[t] || !(fabsf (d[t]) > threshold))
        {
          t++;
          continue;
        }

      sign = d[t] > 0 ? 1 : -1;
      best = t;
      while (t < hi && !mask[t] && sign * d[t] > 0.5 * threshold)
        {
          if (sign * d[t] > sign * d[best])
            best = t;
          t++;
        }
      g_assert (t > best);

      /* The amplitude's window must not touch a gap either. */
      base = s[best - span];
      end = MIN (best + peak_search, hi - 1);
      /* The extreme stops short of a blanked AP: the ramp before an AP
       * must not take the AP's height. */
      extreme = s[best];
      for (j = best; j <= end && whole && !mask[j]; j++)
        {
          whole = !isnan (s[j]);
          extreme = sign > 0 ? MAX (extreme, s[j]) : MIN (extreme, s[j]);
        }
      if (!whole || isnan (base))
        continue;

      {
        ImpEvent ev = { (guint32) (first_sample + (gint64) best),
                        (float) (extreme - base) };

        g_array_append_val (psps, ev);
      }
      n_found++;
    }

  return n_found;
}

/* Command steps: the level over STEP_WINDOW_MS after a point differs from
 * the level over as long before by STEP_MIN_SE standard errors of white
 * noise, and the new level holds (within 1 - STEP_HELD of the jump) for
 * STEP_HOLD_MS more. Levels are medians, so that brief pulses (that evoke
 * a single AP) and synaptic currents, which do not hold, are not steps;
 * means find the candidates quickly. A signal whose level differences
 * scatter more than STEP_MAX_WANDER times white noise is a measured
 * current (voltage clamp), not a command, and has no steps. */
#define STEP_WINDOW_MS  5.0
#define STEP_HOLD_MS    50.0
#define STEP_HELD       0.75
#define STEP_MIN_SE     10.0
#define STEP_MAX_WANDER 1.5

/* Mean of x[from, to) from prefix sums, or NAN when the span holds a
 * gap. */
static double
span_mean (const double *sum,
           const gsize  *bad,
           gsize         from,
           gsize         to)
{
  if (bad[to] != bad[from])
    return NAN;
  return (sum[to] - sum[from]) / (double) (to - from);
}

/* Whether a step of at least @threshold starts at @t, judged by medians. */
static gboolean
is_step (const float *x,
         gsize        t,
         gsize        w,
         gsize        hold,
         double       threshold)
{
  g_autofree float *work = g_new (float, hold);
  double before, after, held, jump;

  memcpy (work, x + t - w, w * sizeof (float));
  before = imp_detect_median (work, w);
  memcpy (work, x + t, w * sizeof (float));
  after = imp_detect_median (work, w);
  memcpy (work, x + t + w, hold * sizeof (float));
  held = imp_detect_median (work, hold);

  jump = after - before;
  return fabs (jump) > threshold
         && fabs (held - after) <= (1 - STEP_HELD) * fabs (jump);
}

/**
 * imp_detect_steps:
 * @x: (array length=n): a current (or any command signal)
 * @n: samples
 * @sample_rate: Hz
 * @first_sample: recording index of x[0]
 * @steps: (element-type gint64): appended to: the recording index of each
 *   step's edge
 *
 * Finds the edges of held steps, such as the current injected in current
 * clamp: the median of the 5 ms after the edge differs from that of the
 * 5 ms before by at least 10 standard errors of the white noise (from
 * imp_detect_noise_sd()), and the median of the 50 ms after that stays
 * within a quarter of the difference. A signal that wanders between steps
 * (a current measured in voltage clamp, with its synaptic currents) is
 * not a command: no steps are reported on it. Each edge is reported once,
 * where the difference of the means is largest. Windows touching a gap are
 * not considered.
 *
 * Returns: the number of edges appended
 */
gsize
imp_detect_steps (const float *x,
                  gsize        n,
                  double       sample_rate,
                  gint64       first_sample,
                  GArray      *steps)
{
  g_autofree double *sum = NULL;
  g_autofree gsize *bad = NULL;
  g_autofree float *jumps = NULL;
  gsize w, hold, i, t, best = 0, last = 0;
  gsize n_found = 0;
  double se, wander, threshold, best_jump = 0;

  g_return_val_if_fail (x != NULL || n == 0, 0);
  g_return_val_if_fail (sample_rate > 0, 0);
  g_return_val_if_fail (steps != NULL, 0);

  w = ms_to_samples (STEP_WINDOW_MS, sample_rate);
  hold = ms_to_samples (STEP_HOLD_MS, sample_rate);
  if (n < 2 * w + hold + 1)
    return 0;
  sum = g_new (double, n + 1);
  bad = g_new (gsize, n + 1);
  sum[0] = 0;
  bad[0] = 0;
  for (i = 0; i < n; i++)
    {
      gboolean ok = imp_detect_usable (x[i]);

      sum[i + 1] = sum[i] + (ok ? x[i] : 0);
      bad[i + 1] = bad[i] + !ok;
    }

  jumps = g_new (float, n);
  for (t = w; t + w <= n; t++)
    jumps[t - w] = (float) (span_mean (sum, bad, t, t + w)
                            - span_mean (sum, bad, t - w, t));
  /* Between steps a command is flat, up to white noise; a measured
   * current (voltage clamp) wanders, and its events are not steps. */
  se = imp_detect_noise_sd (x, n) * sqrt (2.0 / w);
  wander = imp_detect_robust_sd (jumps, n - 2 * w + 1);
  if (!(se > 0) || !(wander <= STEP_MAX_WANDER * se))
    return 0;   /* no noise at all (synthetic or dead), or not a command */
  threshold = STEP_MIN_SE * se;

  for (t = w; t + w + hold <= n; t++)
    {
      double jump = jumps[t - w];
      gboolean step = FALSE;

      /* The means' jump is a quick filter (a step that the medians see
       * moves the means by about as much) and places the edge, where it
       * is largest. */
      if (fabs (jump) > 0.5 * threshold && bad[t + w + hold] == bad[t - w])
        step = is_step (x, t, w, hold, threshold);

      /* One edge per run of step points (gaps shorter than a window
       * joined). */
      if (step)
        {
          if (fabs (jump) > best_jump)
            {
              best = t;
              best_jump = fabs (jump);
            }
          last = t;
        }
      else if (best_jump > 0 && t >= last + w)
        {
          gint64 at = first_sample + (gint64) best;

          g_array_append_val (steps, at);
          n_found++;
          best_jump = 0;
        }
    }
  if (best_jump > 0)
    {
      gint64 at = first_sample + (gint64) best;

      g_array_append_val (steps, at);
      n_found++;
    }

  return n_found;
}

/**
 * imp_detect_is_voltage:
 * @unit: (nullable): a channel's unit
 *
 * Returns: whether the channel can be a membrane potential (mV, V, µV, or
 *   no unit at all)
 */
gboolean
imp_detect_is_voltage (const char *unit)
{
  return unit == NULL || unit[0] == '\0'
         || g_str_equal (unit, "mV") || g_str_equal (unit, "V")
         || g_str_equal (unit, "uV") || g_str_equal (unit, "µV");
}

/**
 * imp_detect_classify_access:
 * @unit: (nullable): the channel's unit
 * @n_aps: APs detected on the channel
 * @median_level: the channel's median, mV; NAN when it has no usable
 *   samples
 *
 * A voltage channel has intracellular access when it shows APs, or when
 * it sits at a resting membrane potential (-100 to -20 mV). Other voltage
 * channels are extracellular, and those without a single usable sample
 * have no signal at all (%IMP_ACCESS_NONE). Channels in other units
 * (currents) are not membrane potentials and are not analysed:
 * %IMP_ACCESS_UNKNOWN.
 *
 * Returns: the access
 */
ImpAccess
imp_detect_classify_access (const char *unit,
                            guint       n_aps,
                            double      median_level)
{
  if (!imp_detect_is_voltage (unit))
    return IMP_ACCESS_UNKNOWN;
  if (n_aps > 0)
    return IMP_ACCESS_INTRACELLULAR;
  if (isnan (median_level))
    return IMP_ACCESS_NONE;
  if (median_level >= -100.0 && median_level <= -20.0)
    return IMP_ACCESS_INTRACELLULAR;
  return IMP_ACCESS_EXTRACELLULAR;
}

/**
 * imp_detect_lower_bound:
 * @v: (array length=n): sample indices in ascending order
 * @n: their number
 * @key: a sample index
 *
 * Returns: the first index into @v whose value is >= @key, or @n
 */
guint
imp_detect_lower_bound (const gint64 *v,
                        guint         n,
                        gint64        key)
{
  guint lo = 0;
  guint hi = n;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (v[mid] < key)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/**
 * imp_detect_first_event:
 * @events: (element-type ImpEvent): events sorted by sample
 * @sample: a sample index
 *
 * Returns: the index of the first event at or after @sample, or the
 *   number of events
 */
guint
imp_detect_first_event (GArray *events,
                        gint64  sample)
{
  guint lo = 0;
  guint hi;

  g_return_val_if_fail (events != NULL, 0);

  hi = events->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (events, ImpEvent, mid).sample < sample)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/**
 * imp_detect_count_lagged:
 * @pre: (array length=n_pre): event samples, any order
 * @n_pre: count
 * @post: (array length=n_post): event samples, sorted ascending
 * @n_post: count
 * @lag_lo: shortest lag, samples
 * @lag_hi: longest lag, samples (inclusive)
 *
 * Returns: the number of (pre, post) pairs with
 *   lag_lo <= post - pre <= lag_hi
 */
guint64
imp_detect_count_lagged (const gint64 *pre,
                         guint         n_pre,
                         const gint64 *post,
                         guint         n_post,
                         gint64        lag_lo,
                         gint64        lag_hi)
{
  guint64 count = 0;
  guint i;

  g_return_val_if_fail (pre != NULL || n_pre == 0, 0);
  g_return_val_if_fail (post != NULL || n_post == 0, 0);

  if (n_post == 0 || lag_hi < lag_lo)
    return 0;

  for (i = 0; i < n_pre; i++)
    count += imp_detect_lower_bound (post, n_post, pre[i] + lag_hi + 1)
             - imp_detect_lower_bound (post, n_post, pre[i] + lag_lo);

  return count;
}

/**
 * imp_detect_surrogate_p:
 * @observed: the count in the real data
 * @surrogates: (array length=n_surrogates): counts under the null
 * @n_surrogates: count, at least 2
 *
 * The probability of a count of at least @observed under the null, from a
 * Poisson distribution (or a negative binomial one when the surrogates
 * vary more than Poisson) with the surrogates' mean and variance. Fitting
 * lets p-values go below 1 / n_surrogates, which correction for many pairs
 * needs. The mean carries one pseudo-count, (sum + 1) / (n + 1), so a null
 * that happened to be all zeros cannot make a single coincidence
 * significant.
 *
 * Returns: the one-sided p-value
 */
double
imp_detect_surrogate_p (guint64        observed,
                        const guint64 *surrogates,
                        guint          n_surrogates)
{
  double sum = 0, sum2 = 0, mean, var, p;
  guint i;

  g_return_val_if_fail (surrogates != NULL, 1.0);
  g_return_val_if_fail (n_surrogates >= 2, 1.0);

  if (observed == 0)
    return 1.0;

  for (i = 0; i < n_surrogates; i++)
    {
      sum += (double) surrogates[i];
      sum2 += (double) surrogates[i] * (double) surrogates[i];
    }
  mean = (sum + 1.0) / (n_surrogates + 1.0);
  var = (sum2 - sum * sum / n_surrogates) / (n_surrogates - 1.0);

  if (observed - 1 > G_MAXUINT)
    return 0.0;

  if (var > mean * 1.0001)
    {
      double r = mean * mean / (var - mean);

      p = gsl_cdf_negative_binomial_Q ((unsigned int) (observed - 1),
                                       r / (r + mean), r);
    }
  else
    p = gsl_cdf_poisson_Q ((unsigned int) (observed - 1), mean);

  return CLAMP (p, 0.0, 1.0);
}

typedef struct
{
  double p;
  gsize  index;
} RankedP;

static int
compare_ranked (const void *a,
                const void *b)
{
  const RankedP *ra = a;
  const RankedP *rb = b;

  if (ra->p < rb->p)
    return -1;
  if (ra->p > rb->p)
    return 1;
  return ra->index < rb->index ? -1 : (ra->index > rb->index);
}

/**
 * imp_detect_bh_adjust:
 * @p: (array length=m): p-values
 * @m: count
 * @q: (out caller-allocates) (array length=m): adjusted p-values
 *
 * Benjamini–Hochberg adjustment: q(i) = min over j >= i of p(j) m / j in
 * ascending order, capped at 1. Rejecting q <= alpha controls the false
 * discovery rate at alpha. @q may be @p.
 */
void
imp_detect_bh_adjust (const double *p,
                      gsize         m,
                      double       *q)
{
  g_autofree RankedP *ranked = NULL;
  double running = 1.0;
  gsize i;

  g_return_if_fail (p != NULL || m == 0);
  g_return_if_fail (q != NULL || m == 0);

  if (m == 0)
    return;

  ranked = g_new (RankedP, m);
  for (i = 0; i < m; i++)
    {
      ranked[i].p = p[i];
      ranked[i].index = i;
    }
  qsort (ranked, m, sizeof *ranked, compare_ranked);

  for (i = m; i-- > 0;)
    {
      double v = ranked[i].p * (double) m / (double) (i + 1);

      running = MIN (running, v);
      q[ranked[i].index] = MIN (running, 1.0);
    }
}
