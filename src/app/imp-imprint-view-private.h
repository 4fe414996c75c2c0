/* imp-imprint-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-imprint-view.h"

G_BEGIN_DECLS

/* For tests: coordinates are in the matrix canvas's pixels; a cell centre
 * is found only when the cell is in view. */
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
/* zooms by @factor about (x, y); a factor of 0 fits the matrix again */
void       _imp_imprint_view_zoom            (ImpImprintView *self,
                                              double          factor,
                                              double          x,
                                              double          y);
/* pans as a drag by (dx, dy) pixels would */
void       _imp_imprint_view_pan             (ImpImprintView *self,
                                              double          dx,
                                              double          dy);
double     _imp_imprint_view_get_cell_size   (ImpImprintView *self);
const char *_imp_imprint_view_get_summary    (ImpImprintView *self);
/* TRUE when the status page shows instead of the matrix */
gboolean   _imp_imprint_view_get_status      (ImpImprintView *self,
                                              const char    **title,
                                              const char    **description);

G_END_DECLS
