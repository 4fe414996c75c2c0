/* imp-traces-view-private.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "imp-trace-cache.h"
#include "imp-traces-view.h"

G_BEGIN_DECLS

/* For tests. */
ImpTraceCache *_imp_traces_view_get_cache       (ImpTracesView *self);
/* TRUE once every visible column is exact and the amplitude fit is done */
gboolean       _imp_traces_view_is_settled      (ImpTracesView *self);
/* the visible columns [*first, *end) at the cache's current level */
void           _imp_traces_view_get_columns     (ImpTracesView *self,
                                                 gint64        *first,
                                                 gint64        *end);
/* pixels per unit of @channel's row, shared by the channels of its unit */
double         _imp_traces_view_get_gain        (ImpTracesView *self,
                                                 guint          channel);
double         _imp_traces_view_get_row_height  (ImpTracesView *self);
/* the canvas y of the top of visible @row, and the x of @sample */
double         _imp_traces_view_get_row_top     (ImpTracesView *self,
                                                 guint          row);
double         _imp_traces_view_get_sample_x    (ImpTracesView *self,
                                                 double         sample);
/* the x of each sweep separator that would be drawn */
GArray        *_imp_traces_view_get_sweep_lines (ImpTracesView *self);
/* the width of @channel's name as drawn in the label column */
int            _imp_traces_view_get_label_width (ImpTracesView *self,
                                                 guint          channel);
int            _imp_traces_view_get_gutter_width (void);
char          *_imp_traces_format_time          (double         seconds,
                                                 double         step,
                                                 double         range_end);
char          *_imp_traces_format_cursor_time   (double         seconds,
                                                 double         precision,
                                                 double         range_end);

/* the channels of the rows, top to bottom */
const guint   *_imp_traces_view_get_rows        (ImpTracesView *self,
                                                 guint         *n_rows);
/* where the traces are drawn across the canvas */
void           _imp_traces_view_get_trace_area  (ImpTracesView *self,
                                                 double        *left,
                                                 double        *width);
/* what the cursor reads with the pointer at (@x, @y) of the canvas: the
 * channel, the first sample of the column (the sample itself when each
 * column is one) and the column's range */
gboolean       _imp_traces_view_cursor_readout  (ImpTracesView *self,
                                                 double         x,
                                                 double         y,
                                                 guint         *channel,
                                                 gint64        *sample,
                                                 float         *lo,
                                                 float         *hi);
/* as a click on @channel's row */
void           _imp_traces_view_set_focus_channel (ImpTracesView *self,
                                                   int            channel);
/* the event the keys last stepped to */
gboolean       _imp_traces_view_get_mark        (ImpTracesView *self,
                                                 guint         *channel,
                                                 gint64        *sample);

G_END_DECLS
