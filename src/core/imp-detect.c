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
/* The slope is the rise over this span (at least a sample): at high
 * sampling rates a difference of neighbouring samples holds less of an
 * AP's upstroke and as much noise. */
#define AP_SLOPE_SPAN_MS     0.1
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

/* Medians of many values are selected from a narrow range around them
 * (Floyd and Rivest's idea): the median rank's neighbours in an evenly
 * strided sample of SAMPLE_SIZE values bound the range; one pass counts
 * the values below it and copies those inside, and the selection runs on
 * those few. When the median falls outside (a few per cent of inputs),
 * the whole input is selected from as before. Either way the result is
 * the exact order statistic. */
#define SAMPLED_MIN    512
#define SAMPLE_SIZE    128
#define SAMPLE_MARGIN  12

/* Buckets of equal width over the range for the last step, for up to
 * RANGE_MAX_VALUES values. */
#define RANGE_BUCKETS    256
#define RANGE_MAX_VALUES 4096

/* Returns the r-th smallest of v[0..m) (no NaN), all in [lo, hi], and
 * sets *@prev to the (r - 1)-th when r > 0; reorders v. The values are
 * counted into buckets of equal width over [lo, hi], by a mapping that
 * never puts a smaller value in a later bucket, and the selection runs
 * on the bucket that holds the r-th: a few values. */
static float
select_in_range (float  *v,
                 gsize   m,
                 gsize   r,
                 float   lo,
                 float   hi,
                 float  *prev)
{
  guint16 count[RANGE_BUCKETS] = { 0 };
  guint8 bucket[RANGE_MAX_VALUES];
  float scale = (float) RANGE_BUCKETS / (hi - lo);
  float result;
  gsize b, i, below = 0, n_in = 0;

  g_assert (r < m);

  if (m > G_N_ELEMENTS (bucket) || !(hi > lo) || !isfinite (scale))
    {
      /* Too many, or a range of one value or too narrow to divide. */
      result = select_kth (v, m, r);
      if (r > 0)
        {
          float top = v[0];

          for (i = 1; i < r; i++)
            top = MAX (top, v[i]);
          *prev = top;
        }
      return result;
    }

  for (i = 0; i < m; i++)
    {
      /* v - lo >= 0, rounded and scaled monotonically; at most about
       * RANGE_BUCKETS before the clamp. */
      float f = MIN ((v[i] - lo) * scale, (float) (RANGE_BUCKETS - 1));

      bucket[i] = (guint8) f;
      count[bucket[i]]++;
    }
  for (b = 0; below + count[b] <= r; b++)
    below += count[b];

  /* The bucket's values to the front (every value before it is smaller
   * than every value in it), then select among them. */
  if (r > 0 && r == below)
    {
      /* The r-th is its bucket's first: the (r - 1)-th is the largest
       * in the buckets before. */
      float top = -INFINITY;

      for (i = 0; i < m; i++)
        top = bucket[i] < b && v[i] > top ? v[i] : top;
      *prev = top;
    }
  for (i = 0; i < m; i++)
    {
      float x = v[i];

      v[n_in] = x;
      n_in += bucket[i] == b;
    }
  g_assert (n_in == count[b]);
  result = select_kth (v, n_in, r - below);
  if (r > below)
    {
      float top = v[0];

      for (i = 1; i < r - below; i++)
        top = MAX (top, v[i]);
      *prev = top;
    }
  return result;
}

/* Sets *@lower (when k > 0) and *@upper to the (k - 1)-th and k-th
 * smallest of x[0..n) (no NaN), leaving x as it is; @work holds n
 * values. Returns FALSE, having set nothing, when the sample's range
 * missed the k-th. */
static gboolean
select_near_sample (const float *x,
                    gsize        n,
                    gsize        k,
                    float       *work,
                    float       *lower,
                    float       *upper)
{
  float sample[SAMPLE_SIZE];
  gsize stride = n / SAMPLE_SIZE;
  gsize r = k * SAMPLE_SIZE / n;
  gsize r_lo = r > SAMPLE_MARGIN ? r - SAMPLE_MARGIN : 0;
  gsize r_hi = MIN (r + SAMPLE_MARGIN, SAMPLE_SIZE - 1);
  gsize below = 0, inside = 0, i;
  float lo, hi;

  g_assert (n >= SAMPLE_SIZE && k < n);

  for (i = 0; i < SAMPLE_SIZE; i++)
    sample[i] = x[i * stride];
  lo = select_kth (sample, SAMPLE_SIZE, r_lo);
  hi = select_kth (sample + r_lo, SAMPLE_SIZE - r_lo, r_hi - r_lo);

  /* Without a branch on the data: every value is copied, and the copy
   * kept when it lies in [lo, hi]. */
  for (i = 0; i < n; i++)
    {
      float v = x[i];
      gboolean is_below = v < lo;

      below += is_below;
      work[inside] = v;
      inside += !is_below & (v <= hi);
    }
  if (k < below || k >= below + inside)
    return FALSE;

  *upper = select_in_range (work, inside, k - below, lo, hi, lower);
  if (k > 0 && k == below)
    {
      /* The k-th is the range's first: the (k - 1)-th is the largest
       * value below it. */
      float top = -INFINITY;

      for (i = 0; i < n; i++)
        top = x[i] < lo && x[i] > top ? x[i] : top;
      *lower = top;
    }
  return TRUE;
}

/* imp_detect_median() of x[0..m), all usable; reorders x. */
static double
median_of_usable (float *x,
                  gsize  m)
{
  double upper;
  float lower;
  gsize i;

  if (m == 0)
    return NAN;

  if (m >= SAMPLED_MIN)
    {
      float stack[4096];
      g_autofree float *heap = NULL;
      float *work = stack;
      float lo = 0, up = 0;

      if (m > G_N_ELEMENTS (stack))
        work = heap = g_new (float, m);
      if (select_near_sample (x, m, m / 2, work, &lo, &up))
        return m % 2 == 1 ? up : 0.5 * (lo + (double) up);
    }

  upper = select_kth (x, m, m / 2);
  if (m % 2 == 1)
    return upper;

  /* After selection, the lower middle is the largest of the lower part. */
  lower = x[0];
  for (i = 1; i < m / 2; i++)
    lower = MAX (lower, x[i]);
  return 0.5 * (lower + upper);
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
  gsize i, m = 0;

  g_return_val_if_fail (x != NULL || n == 0, NAN);

  /* Usable values to the front; selection needs a total order, which NaN
   * would break. Usually all are. */
  if (imp_detect_count_gaps (x, n) == 0)
    return median_of_usable (x, n);
  for (i = 0; i < n; i++)
    if (imp_detect_usable (x[i]))
      swap_float (&x[m++], &x[i]);
  return median_of_usable (x, m);
}

/* Long inputs are summarised from an evenly strided subsample of at least
 * this many values: the MAD of 2048 values is within about 3 % (one SE) of
 * that of all of them, and selection on a few thousand values costs tens
 * of microseconds, which adds up over thousands of channel blocks. */
#define ROBUST_MAX_VALUES 2048

/* The stride of imp_detect_robust_sd()'s subsample of @n values. */
static inline gsize
robust_stride (gsize n)
{
  gsize stride = MAX (n / ROBUST_MAX_VALUES, 1);

  return stride < 2 ? 1 : stride;
}

/* imp_detect_robust_sd() of its subsample work[0..m), all usable;
 * reorders and overwrites work. */
static double
robust_sd_of_usable (float *work,
                     gsize  m)
{
  double median = median_of_usable (work, m);
  gsize i;

  if (isnan (median))
    return NAN;
  for (i = 0; i < m; i++)
    work[i] = fabsf (work[i] - (float) median);

  /* A deviation may be beyond IMP_DETECT_MAX_ABS, and is then ignored. */
  return imp_detect_median (work, m) * MAD_TO_SD;
}

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

  g_return_val_if_fail (x != NULL || n == 0, NAN);

  if (n == 0)
    return NAN;

  stride = robust_stride (n);
  work = g_new (float, (n + stride - 1) / stride);
  for (i = 0; i < n; i += stride)
    if (imp_detect_usable (x[i]))
      work[m++] = x[i];
  return robust_sd_of_usable (work, m);
}

/* The subsample that imp_detect_robust_sd() takes of the n - 1 first
 * differences of x[0..n), a difference next to a gap being NAN (so left
 * out), computed only where it is taken. Writes at most
 * 2 * ROBUST_MAX_VALUES values to @work and returns their number. */
static gsize
strided_diffs (const float *x,
               gsize        n,
               gsize        span,
               float       *work)
{
  gsize stride = robust_stride (n - span);
  gsize i, m = 0;

  g_assert (n > span);

  for (i = 0; i + span < n; i += stride)
    {
      float step = x[i + span] - x[i];

      if (imp_detect_usable (x[i]) && imp_detect_usable (x[i + span])
          && imp_detect_usable (step))
        work[m++] = step;
    }
  g_assert (m <= 2 * ROBUST_MAX_VALUES);
  return m;
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

  if (imp_detect_count_gaps (x, n) == 0)
    {
      /* The usual case, without gaps: only the differences that the
       * robust SD's subsample of all of them takes. */
      diff = g_new (float, ROBUST_MAX_VALUES * 2);
      m = strided_diffs (x, n, 1, diff);
      return robust_sd_of_usable (diff, m) / G_SQRT2;
    }

  diff = g_new (float, n - 1);
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
  double threshold;     /* rise over the span, mV */
  gsize  span;          /* samples of the slope's difference */
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

/* The largest float at most @v: for a float f, f > v exactly when
 * f > float_below (v), so comparisons with it can run on floats. */
static float
float_below (double v)
{
  float f = (float) v;

  return (double) f > v ? nextafterf (f, -INFINITY) : f;
}

/* Scans without a branch per sample: SCAN_LANES comparisons at a time. */
#define SCAN_LANES 8

/* The first i >= @from with x[i + 1] - x[i] > @above, or any i from
 * which fewer than SCAN_LANES + 1 samples remain; x[0..n) holds no gap. */
static gsize
skip_flat (const float *x,
           gsize        n,
           gsize        span,
           gsize        from,
           float        above)
{
  gsize i = from;

  while (i + SCAN_LANES + span <= n)
    {
      gboolean hit = FALSE;

      for (gsize j = 0; j < SCAN_LANES; j++)
        hit |= x[i + j + span] - x[i + j] > above;
      if (hit)
        break;
      i += SCAN_LANES;
    }
  return i;
}

/* imp_detect_aps() on one stretch x[0..n) without gaps. */
static gsize
aps_in_run (const float      *x,
            gsize             n,
            const ApCriteria *ap,
            gint64            first_sample,
            GArray           *aps,
            GArray           *artefacts)
{
  gsize next_allowed = 0;
  gsize n_found = 0;
  gboolean armed = TRUE;
  float above = float_below (ap->threshold);
  gsize i;

  for (i = 0; i + ap->span < n; i++)
    {
      gsize peak, end, j;
      double baseline, height, lowest;
      float diff;

      /* Armed, most of the time, nothing happens until the slope
       * crosses the threshold. */
      if (armed)
        i = skip_flat (x, n, ap->span, i, above);
      if (i + ap->span >= n)
        break;
      diff = x[i + ap->span] - x[i];
      if (!armed)
        {
          armed = diff < ap->threshold;
          continue;
        }
      if (diff <= ap->threshold || i < next_allowed)
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
 * An AP starts where the slope (the rise over AP_SLOPE_SPAN_MS, at least
 * one sample: the first difference up to 10 kHz) exceeds ap_threshold_sd
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
  gsize m, start;
  double slope_sd;

  g_return_val_if_fail (x != NULL || n == 0, 0);
  g_return_val_if_fail (sample_rate > 0, 0);
  g_return_val_if_fail (params != NULL, 0);
  g_return_val_if_fail (aps != NULL, 0);

  if (n < 3)
    return 0;

  /* The robust SD of the slope, a difference next to a gap left out. */
  ap.span = MAX (1, ms_to_samples (AP_SLOPE_SPAN_MS, sample_rate));
  if (n <= ap.span + 1)
    return 0;
  diff = g_new (float, 2 * ROBUST_MAX_VALUES);
  m = strided_diffs (x, n, ap.span, diff);
  slope_sd = robust_sd_of_usable (diff, m);
  ap.threshold = MAX (params->ap_threshold_sd * slope_sd,
                      AP_SLOPE_FLOOR_MV_MS * ap.span * 1000.0 / sample_rate);
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
  if (imp_detect_count_gaps (x, n) == 0)
    return aps_in_run (x, n, &ap, first_sample, aps, artefacts);
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
      n_found += aps_in_run (x + start, stop - start, &ap,
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

/* Buffers for the PSP detector's temporaries, one set per thread, kept
 * between calls: allocating and freeing them for every block of every
 * channel made the kernel map and clear fresh pages each time. */
enum
{
  SCRATCH_SMOOTH,
  SCRATCH_SLOPE,
  SCRATCH_MASK,
  SCRATCH_WORK,
  N_SCRATCH
};

typedef struct
{
  gpointer buf[N_SCRATCH];
  gsize    size[N_SCRATCH];
} Scratch;

static void
scratch_free (gpointer data)
{
  Scratch *sc = data;

  for (guint i = 0; i < N_SCRATCH; i++)
    g_free (sc->buf[i]);
  g_free (sc);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

/* This thread's buffer @which, of at least @bytes (contents undefined). */
static gpointer
scratch_get (guint which,
             gsize bytes)
{
  Scratch *sc = g_private_get (&scratch_key);

  g_assert (which < N_SCRATCH);

  if (sc == NULL)
    {
      sc = g_new0 (Scratch, 1);
      g_private_set (&scratch_key, sc);
    }
  if (sc->size[which] < bytes)
    {
      g_free (sc->buf[which]);
      sc->buf[which] = g_malloc (bytes);
      sc->size[which] = bytes;
    }
  return sc->buf[which];
}

/* Lanes of a running minimum or maximum, which the compiler turns into
 * vector instructions. */
#define STATS_LANES 8

/* Whether a running sum in double over x[0..n) (no gaps) is exact: every
 * sample is a multiple of the spacing q of floats at the smallest nonzero
 * magnitude, so any sum of up to @width + 1 of them is a multiple of q no
 * larger than (width + 1) max |x|, which double holds exactly below
 * 2^53 q. Exact sums do not depend on the order of the additions. */
static gboolean
window_sums_exact (const float *x,
                   gsize        n,
                   gsize        width)
{
  float top[STATS_LANES] = { 0 }, least[STATS_LANES];
  float high = 0, low = INFINITY;
  gsize i, j;
  int e;

  /* In lanes, so that it vectorises. */
  for (j = 0; j < STATS_LANES; j++)
    least[j] = INFINITY;
  for (i = 0; i + STATS_LANES <= n; i += STATS_LANES)
    for (j = 0; j < STATS_LANES; j++)
      {
        float a = fabsf (x[i + j]);
        float nonzero = a > 0 ? a : INFINITY;

        top[j] = a > top[j] ? a : top[j];
        least[j] = nonzero < least[j] ? nonzero : least[j];
      }
  for (; i < n; i++)
    {
      float a = fabsf (x[i]);

      high = MAX (high, a);
      low = a > 0 && a < low ? a : low;
    }
  for (j = 0; j < STATS_LANES; j++)
    {
      high = MAX (high, top[j]);
      low = MIN (low, least[j]);
    }
  if (high == 0)
    return TRUE;
  /* low = f 2^e with f in [0.5, 1): its float spacing is 2^(e - 24)
   * (or more, below the normal range). */
  frexpf (low, &e);
  return (width + 1) * (double) high <= ldexp (1.0, 53 + e - 24);
}

/* Window sums at a time; four running sums over quarters of a tile keep
 * the additions from waiting on each other. */
#define AVERAGE_TILE 1024

/* The sum of x[at - half .. at + half], in double. */
static inline double
window_sum (const float *x,
            gsize        at,
            gsize        half)
{
  double sum = 0;

  for (gsize i = at - half; i <= at + half; i++)
    sum += x[i];
  return sum;
}

/* moving_average() of a stretch without gaps whose window sums are exact
 * (window_sums_exact()): the same values, computed faster. */
static void
moving_average_exact (const float *x,
                      gsize        n,
                      gsize        half,
                      float       *out)
{
  double sums[AVERAGE_TILE];
  gsize width = 2 * half + 1;
  gsize t0, i, j;

  g_assert (n >= width);

  for (i = 0; i < half; i++)
    out[i] = out[n - 1 - i] = NAN;
  for (t0 = half; t0 + half < n; t0 += AVERAGE_TILE)
    {
      gsize len = MIN (AVERAGE_TILE, n - half - t0);
      gsize q = len / 4;
      /* Four chains, from t0 + c q; the last also takes the rest. xc[j]
       * is the first sample of the window of output t0 + c q + j. */
      const float *x0 = x + t0 - half, *x1 = x0 + q, *x2 = x1 + q;
      const float *x3 = x2 + q;
      double r0 = window_sum (x0, half, half), r1, r2, r3;

      sums[0] = r0;
      if (q > 0)
        {
          r1 = window_sum (x1, half, half);
          r2 = window_sum (x2, half, half);
          r3 = window_sum (x3, half, half);
          sums[q] = r1;
          sums[2 * q] = r2;
          sums[3 * q] = r3;
          for (j = 1; j < q; j++)
            {
              r0 += x0[j + 2 * half];
              r1 += x1[j + 2 * half];
              r2 += x2[j + 2 * half];
              r3 += x3[j + 2 * half];
              r0 -= x0[j - 1];
              r1 -= x1[j - 1];
              r2 -= x2[j - 1];
              r3 -= x3[j - 1];
              sums[j] = r0;
              sums[q + j] = r1;
              sums[2 * q + j] = r2;
              sums[3 * q + j] = r3;
            }
          r0 = r3;
          j = 4 * q;
        }
      else
        j = 1;
      for (; j < len; j++)
        {
          r0 += x0[j + 2 * half];
          r0 -= x0[j - 1];
          sums[j] = r0;
        }

      /* As moving_average() rounds: the quotient in double, then to
       * float (vectorises). */
      for (j = 0; j < len; j++)
        out[t0 + j] = (float) (sums[j] / (double) width);
    }
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

/* The first t >= @from where |d[t]| > @above, or one from which fewer
 * than SCAN_LANES samples remain before @to. */
static gsize
skip_quiet (const float *d,
            gsize        from,
            gsize        to,
            float        above)
{
  gsize t = from;

  while (t + SCAN_LANES <= to)
    {
      gboolean hit = FALSE;

      for (gsize j = 0; j < SCAN_LANES; j++)
        hit |= fabsf (d[t + j]) > above;
      if (hit)
        break;
      t += SCAN_LANES;
    }
  return t;
}

/* imp_detect_robust_sd() of the values of d[lo..hi) (none NAN) where
 * @mask is 0, in that order, taking from them only the subsample it
 * takes; @work holds 2 * ROBUST_MAX_VALUES floats. Returns INFINITY when
 * fewer than 16 are not masked. */
static double
unblanked_robust_sd (const float  *d,
                     const guint8 *mask,
                     gsize         lo,
                     gsize         hi,
                     float        *work)
{
  gsize n_masked = 0, n_open, stride, next = 0, seen = 0, m = 0, t;

  for (t = lo; t < hi; t++)
    n_masked += mask[t];
  n_open = hi - lo - n_masked;
  if (n_open < 16)
    return INFINITY;
  stride = robust_stride (n_open);

  /* Runs of unmasked samples; next is the rank among them of the next
   * value taken. */
  for (t = lo; t < hi;)
    {
      const guint8 *stop;
      gsize end;

      if (mask[t])
        {
          t++;
          continue;
        }
      stop = memchr (mask + t, 1, hi - t);
      end = stop != NULL ? (gsize) (stop - mask) : hi;
      for (; next < seen + (end - t); next += stride)
        {
          float v = d[t + (next - seen)];

          if (imp_detect_usable (v))
            work[m++] = v;
        }
      seen += end - t;
      t = end;
    }
  g_assert (m <= 2 * ROBUST_MAX_VALUES);
  return robust_sd_of_usable (work, m);
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
  float *s, *d, *work;
  guint8 *mask;
  g_autoptr(GArray) spans = NULL;
  gsize h, span, half, reach, lo, hi, peak_search, t, n_work = 0;
  gsize n_found = 0;
  gboolean has_gaps;
  double slope_sd, threshold;
  float above;
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

  s = scratch_get (SCRATCH_SMOOTH, n * sizeof (float));
  has_gaps = imp_detect_count_gaps (x, n) > 0;
  if (!has_gaps && window_sums_exact (x, n, 2 * h + 1))
    moving_average_exact (x, n, h, s);
  else
    moving_average (x, n, h, s);
  d = scratch_get (SCRATCH_SLOPE, n * sizeof (float));
  memset (d, 0, (half + h) * sizeof (float));
  for (t = half + h; t < hi; t++)
    d[t] = s[t + span - half] - s[t - half];
  memset (d + hi, 0, (n - hi) * sizeof (float));

  /* What is blanked: each AP, and each gap, where an AP may hide (whose
   * remains would look like PSPs). Spans of local indices [from, to]. */
  spans = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (a = 0; a < n_aps; a++)
    {
      gint64 r = aps[a].sample - first_sample;

      g_array_append_val (spans, r);
      g_array_append_val (spans, r);
    }
  for (t = has_gaps ? 0 : n; t < n; t++)
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
  mask = scratch_get (SCRATCH_MASK, n);
  memset (mask, 0, n);
  for (a = 0; a < spans->len; a += 2)
    blank_range (mask, n,
                 g_array_index (spans, gint64, a)
                 - (gint64) (ms_to_samples (PSP_BLANK_BEFORE_MS, sample_rate)
                             + reach),
                 g_array_index (spans, gint64, a + 1)
                 + (gint64) (ms_to_samples (PSP_BLANK_AFTER_MS, sample_rate)
                             + reach));

  /* The threshold: the robust SD of the slope where it is neither
   * blanked nor NAN. */
  if (has_gaps)
    {
      work = scratch_get (SCRATCH_WORK, n * sizeof (float));
      for (t = lo; t < hi; t++)
        if (!mask[t] && !isnan (d[t]))
          work[n_work++] = d[t];
      if (n_work < 16)
        return 0;
      slope_sd = imp_detect_robust_sd (work, n_work);
    }
  else
    {
      /* Without gaps d has no NAN there: only the values that
       * imp_detect_robust_sd() would take of the unblanked ones. */
      work = scratch_get (SCRATCH_WORK, 2 * ROBUST_MAX_VALUES
                                        * sizeof (float));
      slope_sd = unblanked_robust_sd (d, mask, lo, hi, work);
      if (isinf (slope_sd))
        return 0;
    }
  threshold = params->psp_threshold_sd * slope_sd;
  if (!(threshold > 0))
    return 0;
  above = float_below (threshold);

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

      /* Most of the time nothing crosses the threshold. */
      t = skip_quiet (d, t, hi, above);
      if (t >= hi)
        break;
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
