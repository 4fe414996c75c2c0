/* imp-map-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-map-view.h"

struct _ImpMapView
{
  GtkWidget   parent_instance;
  ImpSession *session;
};

G_DEFINE_FINAL_TYPE (ImpMapView, imp_map_view, GTK_TYPE_WIDGET)

static void
imp_map_view_dispose (GObject *object)
{
  ImpMapView *self = IMP_MAP_VIEW (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (imp_map_view_parent_class)->dispose (object);
}

static void
imp_map_view_class_init (ImpMapViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = imp_map_view_dispose;
}

static void
imp_map_view_init (ImpMapView *self)
{
}

GtkWidget *
imp_map_view_new (ImpSession *session)
{
  ImpMapView *self = g_object_new (IMP_TYPE_MAP_VIEW, NULL);

  self->session = g_object_ref (session);
  return GTK_WIDGET (self);
}
