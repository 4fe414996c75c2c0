/* imp-window.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "imp-session.h"

G_BEGIN_DECLS

#define IMP_TYPE_WINDOW (imp_window_get_type ())

G_DECLARE_FINAL_TYPE (ImpWindow, imp_window, IMP, WINDOW, AdwApplicationWindow)

ImpWindow  *imp_window_new         (GtkApplication *application);
void        imp_window_open        (ImpWindow      *self,
                                    GFile          *file);
void        imp_window_analyze     (ImpWindow      *self);
ImpSession *imp_window_get_session (ImpWindow      *self);
gboolean    imp_window_get_busy    (ImpWindow      *self);
void        imp_window_set_show_overview (ImpWindow *self,
                                          gboolean   show);

G_END_DECLS
