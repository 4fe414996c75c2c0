/* imp-pairs-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "imp-pairs-view.h"

struct _ImpPairsView
{
  GtkWidget   parent_instance;
  ImpSession *session;
};

G_DEFINE_FINAL_TYPE (ImpPairsView, imp_pairs_view, GTK_TYPE_WIDGET)

static void
imp_pairs_view_dispose (GObject *object)
{
  ImpPairsView *self = IMP_PAIRS_VIEW (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (imp_pairs_view_parent_class)->dispose (object);
}

static void
imp_pairs_view_class_init (ImpPairsViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = imp_pairs_view_dispose;
}

static void
imp_pairs_view_init (ImpPairsView *self)
{
}

GtkWidget *
imp_pairs_view_new (ImpSession *session)
{
  ImpPairsView *self = g_object_new (IMP_TYPE_PAIRS_VIEW, NULL);

  self->session = g_object_ref (session);
  return GTK_WIDGET (self);
}
