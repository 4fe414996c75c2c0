/* imp-binning.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Histogram binning of per-trial values (PSP amplitudes in mV). */

/* More bins than this show single trials, not a distribution. */
#define IMP_BINNING_MAX_BINS 200
/* Widths are multiples of this (mV), which a spin button with three
 * decimals shows exactly. */
#define IMP_BINNING_RESOLUTION 0.001

double  imp_binning_auto_width (const float *values,
                                guint        n_values);
double  imp_binning_min_width  (const float *values,
                                guint        n_values);
guint  *imp_binning_count      (const float *values,
                                guint        n_values,
                                double       width,
                                double      *origin,
                                double      *used_width,
                                guint       *n_bins);
gboolean imp_binning_stats     (const float *values,
                                guint        n_values,
                                double      *mean,
                                double      *sd,
                                guint       *n_finite);

G_END_DECLS
