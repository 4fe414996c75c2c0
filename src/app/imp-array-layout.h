/* imp-array-layout.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "imp-recording.h"

G_BEGIN_DECLS

/* Where each electrode of a recording sits on its array, for the array
 * overview and the Traces view's labels: at the file's positions (x, y in
 * µm, y growing downwards), and channels without a position on a square
 * grid by channel index (below the placed ones, if there are any). Every
 * electrode is drawn as a square cell of one pitch, the distance between
 * the closest two. */

typedef struct _ImpArrayLayout ImpArrayLayout;

ImpArrayLayout *imp_array_layout_new        (ImpRecording   *recording);
void            imp_array_layout_free       (ImpArrayLayout *self);

guint           imp_array_layout_get_n      (ImpArrayLayout *self);
/* the electrode's centre, in µm when the file places it */
void            imp_array_layout_get_centre (ImpArrayLayout *self,
                                             guint           channel,
                                             double         *x,
                                             double         *y);
gboolean        imp_array_layout_is_placed  (ImpArrayLayout *self,
                                             guint           channel);
/* TRUE when no channel has a position: the units are pitches, not µm */
gboolean        imp_array_layout_is_fallback (ImpArrayLayout *self);
double          imp_array_layout_get_pitch  (ImpArrayLayout *self);
/* the cells' outer edges */
void            imp_array_layout_get_bounds (ImpArrayLayout *self,
                                             double         *x0,
                                             double         *y0,
                                             double         *x1,
                                             double         *y1);
/* row and column from 1, when the electrode sits on a square grid */
gboolean        imp_array_layout_get_grid   (ImpArrayLayout *self,
                                             guint           channel,
                                             guint          *row,
                                             guint          *column);
/* the electrode @columns right and @rows down of @channel on a grid, -1
 * where there is none, or -2 when the electrodes are not on one grid */
int             imp_array_layout_neighbour  (ImpArrayLayout *self,
                                             guint           channel,
                                             int             columns,
                                             int             rows);
/* the electrode whose cell holds (@x, @y), or -1 */
int             imp_array_layout_channel_at (ImpArrayLayout *self,
                                             double          x,
                                             double          y);
/* a short text for where the electrode is: "row 3, col 12" on a grid,
 * otherwise "x 30, y 60 µm" */
char           *imp_array_layout_describe   (ImpArrayLayout *self,
                                             guint           channel);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImpArrayLayout, imp_array_layout_free)

G_END_DECLS
