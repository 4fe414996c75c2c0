/* imp-array-view.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-session.h"

G_BEGIN_DECLS

/* The array overview: every electrode of the recording at its place on
 * the array, coloured by one measure (access, firing rate, or activity in
 * the time in focus), the channels the Traces view shows outlined. Clicking
 * and dragging choose the session's channels. */

typedef enum
{
  IMP_ARRAY_MEASURE_ACCESS,
  IMP_ARRAY_MEASURE_FIRING_RATE,
  IMP_ARRAY_MEASURE_PEAK_TO_PEAK,
  IMP_ARRAY_MEASURE_RMS,
} ImpArrayMeasure;

#define IMP_TYPE_ARRAY_VIEW (imp_array_view_get_type ())

G_DECLARE_FINAL_TYPE (ImpArrayView, imp_array_view, IMP, ARRAY_VIEW, GtkWidget)

/* The view follows @session (property "session", construct-only). */
GtkWidget       *imp_array_view_new         (ImpSession      *session);
/* property "measure" */
ImpArrayMeasure  imp_array_view_get_measure (ImpArrayView    *self);
void             imp_array_view_set_measure (ImpArrayView    *self,
                                             ImpArrayMeasure  measure);

G_END_DECLS
