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

G_END_DECLS
