/* imp-map-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-map-view.h"

G_BEGIN_DECLS

/* For tests: coordinates are in the map canvas's pixels. */
GtkWidget *_imp_map_view_get_canvas          (ImpMapView *self);
int        _imp_map_view_candidate_at        (ImpMapView *self,
                                              double      x,
                                              double      y);
gboolean   _imp_map_view_get_edge_midpoint   (ImpMapView *self,
                                              guint       candidate,
                                              double     *x,
                                              double     *y);
void       _imp_map_view_set_show_ap_ap      (ImpMapView *self,
                                              gboolean    beside);
gboolean   _imp_map_view_has_positions       (ImpMapView *self);
gboolean   _imp_map_view_step                (ImpMapView *self,
                                              int         step,
                                              gboolean    wrap);
/* a press at (x0, y0) released at (x1, y1), as the pointer gives them */
void       _imp_map_view_click               (ImpMapView *self,
                                              double      x0,
                                              double      y0,
                                              double      x1,
                                              double      y1);
/* zooms by @factor about the centre */
void       _imp_map_view_zoom                (ImpMapView *self,
                                              double      factor);
/* how many node labels a frame would draw, and the node radius */
guint      _imp_map_view_count_labels        (ImpMapView *self,
                                              double     *node_radius);
gboolean   _imp_map_view_get_node_position   (ImpMapView *self,
                                              guint       channel,
                                              double     *x,
                                              double     *y);
gboolean   _imp_map_view_get_status          (ImpMapView  *self,
                                              const char **title,
                                              const char **description);

G_END_DECLS
