/* imp-array-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-array-view.h"

G_BEGIN_DECLS

/* For tests: coordinates are in the canvas's pixels. */
GtkWidget *_imp_array_view_get_canvas   (ImpArrayView    *self);
/* where the point (@x, @y) of the layout (µm when placed) is drawn */
gboolean   _imp_array_view_to_canvas    (ImpArrayView    *self,
                                         double           x,
                                         double           y,
                                         double          *canvas_x,
                                         double          *canvas_y);
/* a press at (x0, y0) released at (x1, y1), with @state's modifiers */
void       _imp_array_view_drag         (ImpArrayView    *self,
                                         double           x0,
                                         double           y0,
                                         double           x1,
                                         double           y1,
                                         GdkModifierType  state);
/* @channel's value under the current measure, NAN without one */
double     _imp_array_view_get_value    (ImpArrayView    *self,
                                         guint            channel);
/* TRUE while the activity of the time in focus is being measured */
gboolean   _imp_array_view_is_measuring (ImpArrayView    *self);
char      *_imp_array_view_get_tooltip  (ImpArrayView    *self,
                                         double           x,
                                         double           y);
/* draws the canvas as it is now onto @cr */
void       _imp_array_view_draw         (ImpArrayView    *self,
                                         cairo_t         *cr);
/* the measure's legend, as drawn, one entry a line */
char      *_imp_array_view_get_legend   (ImpArrayView    *self);

G_END_DECLS
