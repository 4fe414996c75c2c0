/* imp-traces-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-traces-view.h"

struct _ImpTracesView
{
  GtkWidget   parent_instance;
  ImpSession *session;
};

G_DEFINE_FINAL_TYPE (ImpTracesView, imp_traces_view, GTK_TYPE_WIDGET)

static void
imp_traces_view_dispose (GObject *object)
{
  ImpTracesView *self = IMP_TRACES_VIEW (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (imp_traces_view_parent_class)->dispose (object);
}

static void
imp_traces_view_class_init (ImpTracesViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = imp_traces_view_dispose;
}

static void
imp_traces_view_init (ImpTracesView *self)
{
}

GtkWidget *
imp_traces_view_new (ImpSession *session)
{
  ImpTracesView *self = g_object_new (IMP_TYPE_TRACES_VIEW, NULL);

  self->session = g_object_ref (session);
  return GTK_WIDGET (self);
}
