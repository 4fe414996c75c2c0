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

#define IMP_BINNING_MAX_BINS 2000

double  imp_binning_auto_width (const float *values,
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
