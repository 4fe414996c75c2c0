/* imp-plot.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "imp-analysis.h"
#include "imp-session.h"

G_BEGIN_DECLS

/* Small helpers shared by the analysis views: axis ticks, the colours that
 * carry meaning (synapse sign, node role, conductance), text placement, and
 * the wording of numbers and states that every view shows alike. */

typedef struct
{
  double first;   /* first tick at or above the range start */
  double step;
  guint  n;       /* number of ticks inside the range */
} ImpTicks;

typedef enum
{
  IMP_PLOT_COLOR_EXCITATORY,
  IMP_PLOT_COLOR_INHIBITORY,
  IMP_PLOT_COLOR_AP_AP,
  IMP_PLOT_COLOR_SELECTION,
  IMP_PLOT_COLOR_NODE_SPIKING,
  IMP_PLOT_COLOR_NODE_ACCESS,
  IMP_PLOT_COLOR_NODE_NONE,
} ImpPlotColor;

void         imp_plot_ticks           (double         lo,
                                       double         hi,
                                       guint          max_ticks,
                                       ImpTicks      *ticks);
char        *imp_plot_format_tick     (double         value,
                                       double         step);
void         imp_plot_get_color       (ImpPlotColor   color,
                                       GdkRGBA       *rgba);
void         imp_plot_sign_color      (char           sign,
                                       GdkRGBA       *rgba);
void         imp_plot_diverging_color (double         t,
                                       GdkRGBA       *rgba);
void         imp_plot_get_foreground  (GtkWidget     *widget,
                                       GdkRGBA       *rgba);
void         imp_plot_set_source      (cairo_t       *cr,
                                       const GdkRGBA *rgba,
                                       double         alpha);
PangoLayout *imp_plot_layout_new      (GtkWidget     *widget,
                                       double         scale);
void         imp_plot_text            (cairo_t       *cr,
                                       PangoLayout   *layout,
                                       const char    *text,
                                       double         x,
                                       double         y,
                                       double         xalign,
                                       double         yalign);
void         imp_plot_text_backdrop   (cairo_t       *cr,
                                       PangoLayout   *layout,
                                       const char    *text,
                                       double         x,
                                       double         y,
                                       double         xalign,
                                       double         yalign,
                                       const GdkRGBA *color,
                                       const GdkRGBA *backdrop);
void         imp_plot_text_size       (PangoLayout   *layout,
                                       const char    *text,
                                       double        *width,
                                       double        *height);
void         imp_plot_x_axis          (cairo_t       *cr,
                                       PangoLayout   *layout,
                                       const GdkRGBA *fg,
                                       double         x0,
                                       double         x1,
                                       double         left,
                                       double         right,
                                       double         top,
                                       double         bottom,
                                       guint          max_ticks);
void         imp_plot_rounded_rect    (cairo_t       *cr,
                                       double         x,
                                       double         y,
                                       double         width,
                                       double         height,
                                       double         radius);

/* What a view of the analysis has to show, from the session. */
typedef enum
{
  IMP_VIEW_STATE_NO_RECORDING,
  IMP_VIEW_STATE_ANALYSING,
  IMP_VIEW_STATE_NOT_ANALYSED,  /* a recording, no result, not analysing */
  IMP_VIEW_STATE_NO_RESULT,     /* a recording, no result, and the session
                                   cannot say whether an analysis runs */
  IMP_VIEW_STATE_READY,
} ImpViewState;

char        *imp_plot_format_p        (double              p,
                                       double              alpha);
char        *imp_plot_format_p_markup (double              p,
                                       double              alpha);
char        *imp_plot_format_p_relation (double            p,
                                         double            alpha);
gboolean     imp_plot_has_latency     (const ImpCandidate *candidate);
char        *imp_plot_format_latency  (const ImpCandidate *candidate);
ImpViewState imp_plot_get_view_state  (ImpSession         *session);
gboolean     imp_plot_watch_analysing (ImpSession         *session,
                                       GCallback           callback,
                                       gpointer            object);

/* Linking a candidate to the Traces view. */
gboolean     imp_plot_pair_time       (ImpSession         *session,
                                       int                 index,
                                       double             *time_s,
                                       double             *span_s);
gboolean     imp_plot_show_in_traces  (GtkWidget          *widget,
                                       ImpSession         *session,
                                       int                 index);

G_END_DECLS
