/* imp-snapshot-area.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A GtkDrawingArea that adds render nodes (textures, colours) below what
 * its Cairo draw function draws: the bulk of a picture as a texture, and
 * only light overlays (text, markers) through Cairo. */

#define IMP_TYPE_SNAPSHOT_AREA (imp_snapshot_area_get_type ())

G_DECLARE_FINAL_TYPE (ImpSnapshotArea, imp_snapshot_area, IMP, SNAPSHOT_AREA,
                      GtkDrawingArea)

/* Called at every snapshot, before the draw function, with the area's
 * own coordinates. */
typedef void (*ImpSnapshotFunc) (GtkWidget   *area,
                                 GtkSnapshot *snapshot,
                                 int          width,
                                 int          height,
                                 gpointer     user_data);

GtkWidget *imp_snapshot_area_new           (void);
void       imp_snapshot_area_set_below_func (ImpSnapshotArea *self,
                                             ImpSnapshotFunc  func,
                                             gpointer         user_data);

G_END_DECLS
