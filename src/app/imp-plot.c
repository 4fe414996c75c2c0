/* imp-plot.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "imp-activity.h"
#include "imp-plot.h"

/* p-values below this are shown as "< 1e-300" */
#define P_SHOWN_MIN 1e-300

/* Purple (depressed) over a neutral white to green (potentiated): a
 * diverging scale that stays apart from the red/blue used for synapse
 * sign, so a conductance is never read as excitatory or inhibitory. */
static const guint32 diverging_stops[] = {
  0x762a83, 0xaf8dc3, 0xe7d4e8, 0xf7f7f7, 0xd9f0d3, 0x7fbf7b, 0x1b7837,
};

static const guint32 plot_colors[] = {
  [IMP_PLOT_COLOR_EXCITATORY]   = 0xd6402a,
  [IMP_PLOT_COLOR_INHIBITORY]   = 0x1c71d8,
  [IMP_PLOT_COLOR_AP_AP]        = 0x5e5c64,
  [IMP_PLOT_COLOR_SELECTION]    = 0xf5c211,
  [IMP_PLOT_COLOR_NODE_SPIKING] = 0x26a269,
  [IMP_PLOT_COLOR_NODE_ACCESS]  = 0xf6f5f4,
  [IMP_PLOT_COLOR_NODE_NONE]    = 0x9a9996,
};

static void
rgb_to_rgba (guint32  rgb,
             GdkRGBA *rgba)
{
  rgba->red = ((rgb >> 16) & 0xff) / 255.0;
  rgba->green = ((rgb >> 8) & 0xff) / 255.0;
  rgba->blue = (rgb & 0xff) / 255.0;
  rgba->alpha = 1.0;
}

/**
 * imp_plot_ticks:
 * @lo: range start
 * @hi: range end, above @lo
 * @max_ticks: the most ticks wanted
 * @ticks: (out): the ticks, a multiple of 1, 2 or 5 times a power of ten
 *
 * Chooses round tick positions for an axis.
 */
void
imp_plot_ticks (double    lo,
                double    hi,
                guint     max_ticks,
                ImpTicks *ticks)
{
  double raw;
  double magnitude;
  double fraction;
  double nice;

  g_return_if_fail (ticks != NULL);

  if (!(hi > lo) || !isfinite (lo) || !isfinite (hi))
    {
      ticks->first = lo;
      ticks->step = 1.0;
      ticks->n = isfinite (lo) ? 1 : 0;
      return;
    }

  raw = (hi - lo) / MAX (max_ticks, 1);
  magnitude = pow (10.0, floor (log10 (raw)));
  fraction = raw / magnitude;
  if (fraction <= 1.0)
    nice = 1.0;
  else if (fraction <= 2.0)
    nice = 2.0;
  else if (fraction <= 5.0)
    nice = 5.0;
  else
    nice = 10.0;

  ticks->step = nice * magnitude;
  ticks->first = ceil (lo / ticks->step - 1e-9) * ticks->step;
  ticks->n = (guint) floor ((hi - ticks->first) / ticks->step + 1e-9) + 1;
}

/**
 * imp_plot_format_tick:
 * @value: the tick value
 * @step: the tick spacing, which sets the number of decimals
 *
 * Returns: (transfer full): the label, with a typographic minus sign
 */
char *
imp_plot_format_tick (double value,
                      double step)
{
  int decimals = 0;
  g_autofree char *text = NULL;

  if (step > 0 && step < 1.0)
    decimals = (int) ceil (-log10 (step) - 1e-9);
  decimals = CLAMP (decimals, 0, 6);

  if (fabs (value) < step * 1e-6)
    value = 0.0;

  text = g_strdup_printf ("%.*f", decimals, fabs (value));
  if (value < 0)
    return g_strconcat ("\u2212", text, NULL);
  return g_steal_pointer (&text);
}

/**
 * imp_plot_get_color:
 * @color: which meaning
 * @rgba: (out): its colour
 */
void
imp_plot_get_color (ImpPlotColor  color,
                    GdkRGBA      *rgba)
{
  g_return_if_fail (color < G_N_ELEMENTS (plot_colors));

  rgb_to_rgba (plot_colors[color], rgba);
}

/**
 * imp_plot_sign_color:
 * @sign: 'E' or 'I'
 * @rgba: (out): warm red for excitatory, blue for inhibitory, grey otherwise
 */
void
imp_plot_sign_color (char     sign,
                     GdkRGBA *rgba)
{
  if (sign == 'E')
    imp_plot_get_color (IMP_PLOT_COLOR_EXCITATORY, rgba);
  else if (sign == 'I')
    imp_plot_get_color (IMP_PLOT_COLOR_INHIBITORY, rgba);
  else
    imp_plot_get_color (IMP_PLOT_COLOR_AP_AP, rgba);
}

/**
 * imp_plot_diverging_color:
 * @t: position on the scale, 0 (low) to 1 (high); 0.5 is neutral
 * @rgba: (out): the colour
 */
void
imp_plot_diverging_color (double   t,
                          GdkRGBA *rgba)
{
  guint n = G_N_ELEMENTS (diverging_stops) - 1;
  GdkRGBA a;
  GdkRGBA b;
  double pos;
  guint i;
  double f;

  if (!isfinite (t))
    t = 0.5;
  t = CLAMP (t, 0.0, 1.0);
  pos = t * n;
  i = MIN ((guint) floor (pos), n - 1);
  f = pos - i;

  rgb_to_rgba (diverging_stops[i], &a);
  rgb_to_rgba (diverging_stops[i + 1], &b);
  rgba->red = a.red + (b.red - a.red) * f;
  rgba->green = a.green + (b.green - a.green) * f;
  rgba->blue = a.blue + (b.blue - a.blue) * f;
  rgba->alpha = 1.0;
}

/**
 * imp_plot_get_foreground:
 * @widget: a widget
 * @rgba: (out): its text colour, which follows light and dark styles
 */
void
imp_plot_get_foreground (GtkWidget *widget,
                         GdkRGBA   *rgba)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), rgba);
}

/**
 * imp_plot_set_source:
 * @cr: a cairo context
 * @rgba: a colour
 * @alpha: multiplied into the colour's alpha
 */
void
imp_plot_set_source (cairo_t       *cr,
                     const GdkRGBA *rgba,
                     double         alpha)
{
  cairo_set_source_rgba (cr, rgba->red, rgba->green, rgba->blue,
                         rgba->alpha * alpha);
}

/**
 * imp_plot_layout_new:
 * @widget: the widget whose font to use
 * @scale: font size relative to the widget's, e.g. 0.85 for axis labels
 *
 * Returns: (transfer full): a layout for chart text
 */
PangoLayout *
imp_plot_layout_new (GtkWidget *widget,
                     double     scale)
{
  PangoLayout *layout;
  PangoFontDescription *desc;
  const PangoFontDescription *base;

  g_return_val_if_fail (GTK_IS_WIDGET (widget), NULL);

  layout = gtk_widget_create_pango_layout (widget, NULL);
  base = pango_context_get_font_description (pango_layout_get_context (layout));
  desc = pango_font_description_copy (base);
  if (pango_font_description_get_size (desc) > 0)
    pango_font_description_set_size (desc,
                                     pango_font_description_get_size (desc)
                                     * scale);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);

  return layout;
}

/**
 * imp_plot_text_size:
 * @layout: a chart layout
 * @text: the text
 * @width: (out) (optional): logical width in pixels
 * @height: (out) (optional): logical height in pixels
 */
void
imp_plot_text_size (PangoLayout *layout,
                    const char  *text,
                    double      *width,
                    double      *height)
{
  int w;
  int h;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &w, &h);
  if (width != NULL)
    *width = w;
  if (height != NULL)
    *height = h;
}

/**
 * imp_plot_text:
 * @cr: a cairo context with the source set
 * @layout: a chart layout
 * @text: the text
 * @x: anchor x
 * @y: anchor y
 * @xalign: 0 puts the text's left edge at @x, 0.5 centres it, 1 right
 * @yalign: the same vertically
 */
void
imp_plot_text (cairo_t     *cr,
               PangoLayout *layout,
               const char  *text,
               double       x,
               double       y,
               double       xalign,
               double       yalign)
{
  double w;
  double h;

  imp_plot_text_size (layout, text, &w, &h);
  cairo_move_to (cr, round (x - w * xalign), round (y - h * yalign));
  pango_cairo_show_layout (cr, layout);
}

/**
 * imp_plot_text_backdrop:
 * @cr: a cairo context
 * @layout: a chart layout
 * @text: the text
 * @x: anchor x
 * @y: anchor y
 * @xalign: as for imp_plot_text()
 * @yalign: as for imp_plot_text()
 * @color: the text colour
 * @backdrop: the colour of a rounded box behind the text, which keeps it
 *   readable over lines drawn before it
 */
void
imp_plot_text_backdrop (cairo_t       *cr,
                        PangoLayout   *layout,
                        const char    *text,
                        double         x,
                        double         y,
                        double         xalign,
                        double         yalign,
                        const GdkRGBA *color,
                        const GdkRGBA *backdrop)
{
  double w;
  double h;
  double left;
  double top;

  imp_plot_text_size (layout, text, &w, &h);
  left = round (x - w * xalign);
  top = round (y - h * yalign);

  imp_plot_rounded_rect (cr, left - 2, top, w + 4, h, 3);
  imp_plot_set_source (cr, backdrop, 1.0);
  cairo_fill (cr);

  imp_plot_set_source (cr, color, 1.0);
  cairo_move_to (cr, left, top);
  pango_cairo_show_layout (cr, layout);
}

/**
 * imp_plot_x_axis:
 * @cr: a cairo context
 * @layout: for the tick labels
 * @fg: the foreground colour
 * @x0: the value at @left
 * @x1: the value at @right
 * @left: the plot box, in pixels
 * @right: the plot box
 * @top: the plot box
 * @bottom: the plot box
 * @max_ticks: at most this many ticks
 *
 * Draws the ticks and labels of a linear x axis under the plot box, and
 * the box's left and bottom edges.
 */
void
imp_plot_x_axis (cairo_t       *cr,
                 PangoLayout   *layout,
                 const GdkRGBA *fg,
                 double         x0,
                 double         x1,
                 double         left,
                 double         right,
                 double         top,
                 double         bottom,
                 guint          max_ticks)
{
  ImpTicks ticks;

  imp_plot_ticks (x0, x1, max_ticks, &ticks);
  for (guint i = 0; i < ticks.n; i++)
    {
      double v = ticks.first + i * ticks.step;
      g_autofree char *label = imp_plot_format_tick (v, ticks.step);
      double x = round (left + (v - x0) / (x1 - x0) * (right - left)) + 0.5;

      imp_plot_set_source (cr, fg, 0.6);
      cairo_move_to (cr, x, bottom);
      cairo_line_to (cr, x, bottom + 4);
      cairo_stroke (cr);
      imp_plot_set_source (cr, fg, 0.75);
      imp_plot_text (cr, layout, label, x, bottom + 6, 0.5, 0.0);
    }

  imp_plot_set_source (cr, fg, 0.6);
  cairo_move_to (cr, left + 0.5, top);
  cairo_line_to (cr, left + 0.5, bottom + 0.5);
  cairo_line_to (cr, right, bottom + 0.5);
  cairo_stroke (cr);
}

/**
 * imp_plot_rounded_rect:
 * @cr: a cairo context
 * @x: left
 * @y: top
 * @width: width
 * @height: height
 * @radius: corner radius
 *
 * Adds a rounded rectangle to the current path.
 */
void
imp_plot_rounded_rect (cairo_t *cr,
                       double   x,
                       double   y,
                       double   width,
                       double   height,
                       double   radius)
{
  radius = MIN (radius, MIN (width, height) / 2);
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + width - radius, y + radius, radius, -G_PI_2, 0);
  cairo_arc (cr, x + width - radius, y + height - radius, radius, 0, G_PI_2);
  cairo_arc (cr, x + radius, y + height - radius, radius, G_PI_2, G_PI);
  cairo_arc (cr, x + radius, y + radius, radius, G_PI, 3 * G_PI_2);
  cairo_close_path (cr);
}

/* Text shared by the views */

/* @value rounded to @digits significant digits. */
static double
round_significant (double value,
                   int    digits)
{
  double scale = pow (10.0, digits - 1 - floor (log10 (value)));

  return round (value * scale) / scale;
}

/**
 * imp_plot_format_p:
 * @p: a p-value
 * @alpha: the significance level @p is compared with, or 0 for none
 *
 * Three significant digits, in scientific notation below 0.001 (0.206,
 * 0.00141, 3.41e-05). When three digits would make @p look equal to
 * @alpha, or land on the other side of it, more digits are shown, so that
 * the number never contradicts the verdict beside it.
 *
 * Returns: (transfer full): the text; "—" when @p is not a number
 */
char *
imp_plot_format_p (double p,
                   double alpha)
{
  int digits = 3;

  if (!isfinite (p) || p < 0)
    return g_strdup ("—");
  /* below what a double holds: the test's tail underflowed, not a p of
   * exactly 0 */
  if (p < P_SHOWN_MIN)
    return g_strdup ("< 1e-300");

  for (; digits < 9 && alpha > 0; digits++)
    {
      double shown = round_significant (p, digits);

      if ((shown <= alpha) == (p <= alpha) && (shown != alpha || p == alpha))
        break;
    }

  if (p < 1e-3)
    return g_strdup_printf ("%.*e", digits - 1, p);
  return g_strdup_printf ("%#.*g", digits, p);
}

/**
 * imp_plot_format_p_markup:
 * @p: a p-value
 * @alpha: as for imp_plot_format_p()
 *
 * Returns: (transfer full): imp_plot_format_p() as Pango markup ("<"
 *   escaped)
 */
char *
imp_plot_format_p_markup (double p,
                          double alpha)
{
  g_autofree char *text = imp_plot_format_p (p, alpha);

  return g_markup_escape_text (text, -1);
}

/**
 * imp_plot_format_p_relation:
 * @p: a p-value
 * @alpha: as for imp_plot_format_p()
 *
 * Returns: (transfer full): Pango markup to follow "p ": "= " and the
 *   p-value, or "&lt; 1e-300" for one below what a double holds
 */
char *
imp_plot_format_p_relation (double p,
                            double alpha)
{
  g_autofree char *text = imp_plot_format_p_markup (p, alpha);

  return p >= 0 && p < P_SHOWN_MIN ? g_steal_pointer (&text)
                                   : g_strconcat ("= ", text, NULL);
}

/**
 * imp_plot_has_latency:
 * @candidate: a candidate
 *
 * The analysis measures the latency as the onset of the average's rise,
 * extrapolated back to the baseline. Without trials, or when the average
 * has no rise to speak of (the extrapolation lands at or before the AP
 * peak, which the analysis reports as NAN), there is no estimate.
 *
 * Returns: whether @candidate has a latency estimate
 */
gboolean
imp_plot_has_latency (const ImpCandidate *candidate)
{
  g_return_val_if_fail (candidate != NULL, FALSE);

  return candidate->n_trials > 0 && isfinite (candidate->latency_ms)
         && candidate->latency_ms > 0;
}

/**
 * imp_plot_format_latency:
 * @candidate: a candidate
 *
 * Returns: (transfer full): the latency in ms with two decimals (no unit),
 *   or "—" without an estimate
 */
char *
imp_plot_format_latency (const ImpCandidate *candidate)
{
  g_return_val_if_fail (candidate != NULL, NULL);

  if (!imp_plot_has_latency (candidate))
    return g_strdup ("—");
  return g_strdup_printf ("%.2f", candidate->latency_ms);
}

static gboolean
has_analysing (ImpSession *session)
{
  return g_object_class_find_property (G_OBJECT_GET_CLASS (session),
                                       "analyzing") != NULL;
}

/**
 * imp_plot_get_view_state:
 * @session: a session
 *
 * A result on show counts as ready even while a new analysis runs; the
 * session's "analyzing" property, when it has one, tells an analysis in
 * progress from none.
 *
 * Returns: what a view of the analysis has to show
 */
ImpViewState
imp_plot_get_view_state (ImpSession *session)
{
  gboolean analysing = FALSE;

  g_return_val_if_fail (IMP_IS_SESSION (session), IMP_VIEW_STATE_NO_RECORDING);

  /* a result on show stays while a new analysis runs */
  if (imp_session_get_result (session) != NULL)
    return IMP_VIEW_STATE_READY;
  if (imp_session_get_recording (session) == NULL)
    return IMP_VIEW_STATE_NO_RECORDING;
  if (!has_analysing (session))
    return IMP_VIEW_STATE_NO_RESULT;
  g_object_get (session, "analyzing", &analysing, NULL);
  return analysing ? IMP_VIEW_STATE_ANALYSING : IMP_VIEW_STATE_NOT_ANALYSED;
}

/**
 * imp_plot_watch_analysing:
 * @session: a session
 * @callback: called swapped, with @object, when "analyzing" changes
 * @object: the view, which the connection follows
 *
 * Returns: %FALSE when the session has no "analyzing" property to watch
 */
gboolean
imp_plot_watch_analysing (ImpSession *session,
                          GCallback   callback,
                          gpointer    object)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), FALSE);

  if (!has_analysing (session))
    return FALSE;
  g_signal_connect_object (session, "notify::analyzing", callback, object,
                           G_CONNECT_SWAPPED);
  return TRUE;
}

/**
 * imp_plot_pair_time:
 * @session: a session with a result
 * @index: one of its candidates
 * @time_s: (out): when to show the pair, in s
 * @span_s: (out): how much time around it
 *
 * When to look at a candidate: its first presynaptic AP that evoked a PSP,
 * or its first AP, with time for the AP-triggered window four times over.
 *
 * Returns: %FALSE when the candidate has no AP to show
 */
gboolean
imp_plot_pair_time (ImpSession *session,
                    int         index,
                    double     *time_s,
                    double     *span_s)
{
  ImpAnalysisResult *result;
  ImpCandidate *candidate;
  g_autoptr(GArray) evoked = NULL;
  GArray *aps;
  gint64 sample;

  g_return_val_if_fail (IMP_IS_SESSION (session), FALSE);

  result = imp_session_get_result (session);
  if (result == NULL || result->candidates == NULL || index < 0 ||
      (guint) index >= result->candidates->len || result->sample_rate <= 0)
    return FALSE;

  candidate = g_ptr_array_index (result->candidates, index);
  aps = result->aps != NULL && candidate->pre < result->n_channels
        ? result->aps[candidate->pre] : NULL;
  if (aps == NULL || aps->len == 0)
    return FALSE;

  evoked = imp_activity_evoked (result, imp_session_get_recording (session),
                                candidate);
  sample = evoked->len > 0 ? g_array_index (evoked, ImpEvoked, 0).ap_sample
                           : g_array_index (aps, ImpEvent, 0).sample;
  *time_s = sample / result->sample_rate;
  *span_s = MAX (0.1, 0.004 * (result->params.window_pre_ms +
                               result->params.window_post_ms));
  return TRUE;
}

/**
 * imp_plot_show_in_traces:
 * @widget: a widget in the window
 * @session: the window's session
 * @index: a candidate of the session's result
 *
 * Shows the candidate in the Traces view: its two channels, around the
 * time imp_plot_pair_time() gives, and switches to that view.
 *
 * Returns: %FALSE when there is nothing to show
 */
gboolean
imp_plot_show_in_traces (GtkWidget  *widget,
                         ImpSession *session,
                         int         index)
{
  double time_s, span_s;

  g_return_val_if_fail (GTK_IS_WIDGET (widget), FALSE);
  g_return_val_if_fail (IMP_IS_SESSION (session), FALSE);

  if (!imp_plot_pair_time (session, index, &time_s, &span_s))
    return FALSE;

  imp_session_show_pair (session, index, time_s, span_s);
  gtk_widget_activate_action (widget, "win.show-view", "s", "traces");
  return TRUE;
}
