/* imp-imprint-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-imprint-view.h"

struct _ImpImprintView
{
  GtkWidget   parent_instance;
  ImpSession *session;
};

G_DEFINE_FINAL_TYPE (ImpImprintView, imp_imprint_view, GTK_TYPE_WIDGET)

static void
imp_imprint_view_dispose (GObject *object)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (imp_imprint_view_parent_class)->dispose (object);
}

static void
imp_imprint_view_class_init (ImpImprintViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = imp_imprint_view_dispose;
}

static void
imp_imprint_view_init (ImpImprintView *self)
{
}

GtkWidget *
imp_imprint_view_new (ImpSession *session)
{
  ImpImprintView *self = g_object_new (IMP_TYPE_IMPRINT_VIEW, NULL);

  self->session = g_object_ref (session);
  return GTK_WIDGET (self);
}
