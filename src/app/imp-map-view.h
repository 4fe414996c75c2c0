/* imp-map-view.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-session.h"

G_BEGIN_DECLS

#define IMP_TYPE_MAP_VIEW (imp_map_view_get_type ())

G_DECLARE_FINAL_TYPE (ImpMapView, imp_map_view, IMP, MAP_VIEW, GtkWidget)

/* The view follows @session (property "session", construct-only). */
GtkWidget *imp_map_view_new (ImpSession *session);

G_END_DECLS
