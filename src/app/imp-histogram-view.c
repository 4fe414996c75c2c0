/* imp-histogram-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-histogram-view.h"

struct _ImpHistogramView
{
  GtkWidget   parent_instance;
  ImpSession *session;
};

G_DEFINE_FINAL_TYPE (ImpHistogramView, imp_histogram_view, GTK_TYPE_WIDGET)

static void
imp_histogram_view_dispose (GObject *object)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (imp_histogram_view_parent_class)->dispose (object);
}

static void
imp_histogram_view_class_init (ImpHistogramViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = imp_histogram_view_dispose;
}

static void
imp_histogram_view_init (ImpHistogramView *self)
{
}

GtkWidget *
imp_histogram_view_new (ImpSession *session)
{
  ImpHistogramView *self = g_object_new (IMP_TYPE_HISTOGRAM_VIEW, NULL);

  self->session = g_object_ref (session);
  return GTK_WIDGET (self);
}
