/* imp-traces-view.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-session.h"

G_BEGIN_DECLS

#define IMP_TYPE_TRACES_VIEW (imp_traces_view_get_type ())

G_DECLARE_FINAL_TYPE (ImpTracesView, imp_traces_view, IMP, TRACES_VIEW, GtkWidget)

/* The view follows @session (property "session", construct-only). */
GtkWidget *imp_traces_view_new               (ImpSession    *session);

void       imp_traces_view_get_visible_range (ImpTracesView *self,
                                              double        *start_s,
                                              double        *end_s);
void       imp_traces_view_set_visible_range (ImpTracesView *self,
                                              double         start_s,
                                              double         end_s);
int        imp_traces_view_get_first_channel (ImpTracesView *self);
/* property "overlay-sweeps": the sweeps of an episodic recording drawn on
 * one another instead of in sequence */
gboolean   imp_traces_view_get_overlay_sweeps (ImpTracesView *self);
void       imp_traces_view_set_overlay_sweeps (ImpTracesView *self,
                                               gboolean       overlay);

G_END_DECLS
