/* imp-pairs-view.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-session.h"

G_BEGIN_DECLS

#define IMP_TYPE_PAIRS_VIEW (imp_pairs_view_get_type ())

G_DECLARE_FINAL_TYPE (ImpPairsView, imp_pairs_view, IMP, PAIRS_VIEW, GtkWidget)

/* The view follows @session (property "session", construct-only). */
GtkWidget *imp_pairs_view_new          (ImpSession   *session);
void       imp_pairs_view_focus_search (ImpPairsView *self);

G_END_DECLS
