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

G_END_DECLS
