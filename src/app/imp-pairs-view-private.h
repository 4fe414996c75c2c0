/* imp-pairs-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-pairs-view.h"

G_BEGIN_DECLS

/* For tests: the list's selection model (items are ImpCandidateItem) and a
 * way to filter without waiting for the search entry's delay. */
GtkSingleSelection *_imp_pairs_view_get_selection (ImpPairsView *self);
void                _imp_pairs_view_set_filter    (ImpPairsView *self,
                                                   const char   *text,
                                                   gboolean      significant_only);
void                _imp_pairs_view_sort_by       (ImpPairsView *self,
                                                   const char   *property,
                                                   GtkSortType   order);
GtkWidget          *_imp_pairs_view_get_column_view (ImpPairsView *self);
const char         *_imp_pairs_view_get_detail    (ImpPairsView *self);
/* the markup of the column titled @title (untranslated) in the row at
 * @position of the sorted list; NULL when there is none */
char               *_imp_pairs_view_get_cell      (ImpPairsView *self,
                                                   guint         position,
                                                   const char   *title);
/* as Enter or a double click on the row at @position of the sorted list */
void                _imp_pairs_view_activate_row  (ImpPairsView *self,
                                                   guint         position);
/* TRUE when the status page shows instead of the list */
gboolean            _imp_pairs_view_get_status    (ImpPairsView *self,
                                                   const char  **title,
                                                   const char  **description);

G_END_DECLS
