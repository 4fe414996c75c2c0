/* imp-histogram-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-histogram-view.h"

G_BEGIN_DECLS

/* For tests: the counts currently drawn, or NULL when nothing is. */
const guint *_imp_histogram_view_get_bins      (ImpHistogramView *self,
                                                guint            *n_bins,
                                                double           *origin,
                                                double           *width);
void         _imp_histogram_view_set_bin_width (ImpHistogramView *self,
                                                double            width);
/* types @text into the bin width and presses Enter */
void         _imp_histogram_view_type_bin_width (ImpHistogramView *self,
                                                 const char       *text);
double       _imp_histogram_view_get_bin_width (ImpHistogramView *self);
/* the heading, the footer and, when shown, the artefact note */
void         _imp_histogram_view_get_texts     (ImpHistogramView *self,
                                                const char      **title,
                                                const char      **stats,
                                                const char      **note);

/* the quantal fit's caption, NULL when hidden */
const char  *_imp_histogram_view_get_quantal_text (ImpHistogramView *self);
/* the fitted count per bin drawn at @amplitude_mv (k as for
 * imp_quantal_fit_density()), NAN when no fit is drawn */
double       _imp_histogram_view_fit_count     (ImpHistogramView *self,
                                                int               k,
                                                double            amplitude_mv);
/* whether the binomial peaks are drawn (quanta claimed) */
gboolean     _imp_histogram_view_draws_quanta  (ImpHistogramView *self);

G_END_DECLS
