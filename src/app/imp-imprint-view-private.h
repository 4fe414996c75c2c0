/* imp-imprint-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-imprint-view.h"

G_BEGIN_DECLS

/* For tests: coordinates are in the matrix canvas's pixels. */
GtkWidget *_imp_imprint_view_get_canvas      (ImpImprintView *self);
int        _imp_imprint_view_candidate_at    (ImpImprintView *self,
                                              double          x,
                                              double          y);
gboolean   _imp_imprint_view_get_cell_centre (ImpImprintView *self,
                                              guint           pre,
                                              guint           post,
                                              double         *x,
                                              double         *y);
double     _imp_imprint_view_get_conductance (ImpImprintView *self,
                                              guint           pre,
                                              guint           post);

G_END_DECLS
