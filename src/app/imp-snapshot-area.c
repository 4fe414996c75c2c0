/* imp-snapshot-area.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-snapshot-area.h"

struct _ImpSnapshotArea
{
  GtkDrawingArea  parent_instance;

  ImpSnapshotFunc below;
  gpointer        below_data;
};

G_DEFINE_FINAL_TYPE (ImpSnapshotArea, imp_snapshot_area,
                     GTK_TYPE_DRAWING_AREA)

static void
imp_snapshot_area_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  ImpSnapshotArea *self = IMP_SNAPSHOT_AREA (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  if (self->below != NULL && width > 0 && height > 0)
    self->below (widget, snapshot, width, height, self->below_data);

  GTK_WIDGET_CLASS (imp_snapshot_area_parent_class)->snapshot (widget,
                                                               snapshot);
}

static void
imp_snapshot_area_class_init (ImpSnapshotAreaClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->snapshot = imp_snapshot_area_snapshot;
}

static void
imp_snapshot_area_init (ImpSnapshotArea *self)
{
}

/**
 * imp_snapshot_area_new:
 *
 * Returns: (transfer floating): an area that draws nothing yet
 */
GtkWidget *
imp_snapshot_area_new (void)
{
  return g_object_new (IMP_TYPE_SNAPSHOT_AREA, NULL);
}

/**
 * imp_snapshot_area_set_below_func:
 * @self: a #ImpSnapshotArea
 * @func: (nullable): adds what goes below the draw function's drawing
 * @user_data: for @func; must outlive the area or be unset first
 */
void
imp_snapshot_area_set_below_func (ImpSnapshotArea *self,
                                  ImpSnapshotFunc  func,
                                  gpointer         user_data)
{
  g_return_if_fail (IMP_IS_SNAPSHOT_AREA (self));

  self->below = func;
  self->below_data = user_data;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
