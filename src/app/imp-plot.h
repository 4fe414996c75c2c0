/* imp-plot.h
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Small drawing helpers shared by the Cairo charts of the views: axis ticks,
 * the colours that carry meaning (synapse sign, node role, conductance) and
 * text placement. */

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
void         imp_plot_rounded_rect    (cairo_t       *cr,
                                       double         x,
                                       double         y,
                                       double         width,
                                       double         height,
                                       double         radius);

G_END_DECLS
