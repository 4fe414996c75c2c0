/* imp-binning.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "imp-binning.h"

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (type 7 of Hyndman and
 * Fan, as in R's default). */
static double
quantile (const double *sorted,
          guint         n,
          double        q)
{
  double h = (n - 1) * q;
  guint lo = (guint) floor (h);
  guint hi = MIN (lo + 1, n - 1);

  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/* Two significant digits, so the spin button shows a readable width, and a
 * multiple of the resolution, so it shows the width exactly. */
static double
round_width (double width)
{
  double magnitude = pow (10.0, floor (log10 (width)) - 1);

  width = round (width / magnitude) * magnitude;
  width = round (width / IMP_BINNING_RESOLUTION) * IMP_BINNING_RESOLUTION;
  return MAX (width, IMP_BINNING_RESOLUTION);
}

static gboolean
finite_range (const float *values,
              guint        n_values,
              double      *lo,
              double      *hi)
{
  *lo = G_MAXDOUBLE;
  *hi = -G_MAXDOUBLE;
  for (guint i = 0; i < n_values; i++)
    if (isfinite (values[i]))
      {
        *lo = MIN (*lo, values[i]);
        *hi = MAX (*hi, values[i]);
      }
  return *lo <= *hi;
}

/**
 * imp_binning_min_width:
 * @values: (array length=n_values): the values; non-finite ones are ignored
 * @n_values: their number
 *
 * The narrowest width that bins @values into at most
 * %IMP_BINNING_MAX_BINS bins, rounded up to %IMP_BINNING_RESOLUTION.
 *
 * Returns: the width, in the values' unit
 */
double
imp_binning_min_width (const float *values,
                       guint        n_values)
{
  double lo, hi, width;

  g_return_val_if_fail (values != NULL || n_values == 0,
                        IMP_BINNING_RESOLUTION);

  if (!finite_range (values, n_values, &lo, &hi))
    return IMP_BINNING_RESOLUTION;

  /* the first bin starts up to one width below the lowest value */
  width = (hi - lo) / (IMP_BINNING_MAX_BINS - 1);
  width = ceil (width / IMP_BINNING_RESOLUTION - 1e-9)
          * IMP_BINNING_RESOLUTION;
  return MAX (width, IMP_BINNING_RESOLUTION);
}

/**
 * imp_binning_auto_width:
 * @values: (array length=n_values): the values; non-finite ones are ignored
 * @n_values: their number
 *
 * The Freedman–Diaconis bin width, 2 IQR n^(-1/3) (Freedman and Diaconis,
 * 1981), which resists outliers better than rules based on the SD. When
 * the IQR is zero (mostly identical values) it falls back to the range
 * over √n, then to 0.01 mV. Rounded to two significant digits and to
 * %IMP_BINNING_RESOLUTION, and never below imp_binning_min_width().
 *
 * Returns: the bin width, in the values' unit
 */
double
imp_binning_auto_width (const float *values,
                        guint        n_values)
{
  g_autofree double *sorted = NULL;
  double iqr;
  double width;
  guint n = 0;

  g_return_val_if_fail (values != NULL || n_values == 0, 0.01);

  sorted = g_new (double, MAX (n_values, 1));
  for (guint i = 0; i < n_values; i++)
    if (isfinite (values[i]))
      sorted[n++] = values[i];
  if (n < 2)
    return 0.01;

  qsort (sorted, n, sizeof (double), compare_doubles);
  iqr = quantile (sorted, n, 0.75) - quantile (sorted, n, 0.25);
  width = 2.0 * iqr / cbrt (n);
  if (!(width > 0))
    width = (sorted[n - 1] - sorted[0]) / ceil (sqrt (n));
  if (!(width > 0))
    width = 0.01;

  return MAX (round_width (width), imp_binning_min_width (values, n_values));
}

/**
 * imp_binning_count:
 * @values: (array length=n_values): the values; non-finite ones are ignored
 * @n_values: their number
 * @width: the wanted bin width, above zero
 * @origin: (out): left edge of the first bin, a multiple of the width so
 *   that zero is always a bin edge
 * @used_width: (out): the width used: @width, or imp_binning_min_width()
 *   when @width would need more than %IMP_BINNING_MAX_BINS bins
 * @n_bins: (out): number of bins
 *
 * Returns: (transfer full) (array length=n_bins): counts per bin, or %NULL
 *   when there is no finite value
 */
guint *
imp_binning_count (const float *values,
                   guint        n_values,
                   double       width,
                   double      *origin,
                   double      *used_width,
                   guint       *n_bins)
{
  double lo, hi;
  guint *counts;

  g_return_val_if_fail (values != NULL || n_values == 0, NULL);
  g_return_val_if_fail (width > 0, NULL);

  *n_bins = 0;
  *origin = 0;
  *used_width = width;

  if (!finite_range (values, n_values, &lo, &hi))
    return NULL;

  width = MAX (width, imp_binning_min_width (values, n_values));

  *used_width = width;
  *origin = floor (lo / width) * width;
  *n_bins = (guint) floor ((hi - *origin) / width) + 1;
  counts = g_new0 (guint, *n_bins);

  for (guint i = 0; i < n_values; i++)
    if (isfinite (values[i]))
      {
        gint64 bin = (gint64) floor ((values[i] - *origin) / width);

        counts[CLAMP (bin, 0, (gint64) *n_bins - 1)]++;
      }

  return counts;
}

/**
 * imp_binning_stats:
 * @values: (array length=n_values): the values; non-finite ones are ignored
 * @n_values: their number
 * @mean: (out): their mean
 * @sd: (out): their sample standard deviation (0 for one value)
 * @n_finite: (out): how many were finite
 *
 * Returns: %TRUE when there was at least one finite value
 */
gboolean
imp_binning_stats (const float *values,
                   guint        n_values,
                   double      *mean,
                   double      *sd,
                   guint       *n_finite)
{
  double sum = 0;
  double ss = 0;
  guint n = 0;

  g_return_val_if_fail (values != NULL || n_values == 0, FALSE);

  for (guint i = 0; i < n_values; i++)
    if (isfinite (values[i]))
      {
        sum += values[i];
        n++;
      }
  *n_finite = n;
  *mean = n > 0 ? sum / n : 0.0;
  for (guint i = 0; i < n_values; i++)
    if (isfinite (values[i]))
      ss += (values[i] - *mean) * (values[i] - *mean);
  *sd = n > 1 ? sqrt (ss / (n - 1)) : 0.0;

  return n > 0;
}
