/* imp-average-plot.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "imp-average-plot.h"
#include "imp-plot.h"

#define TITLE_LEFT    12.0   /* the rotated axis title's left edge */
#define MARGIN_RIGHT  12.0
#define MARGIN_TOP    24.0
#define MARGIN_BOTTOM 44.0
#define STRIP_WIDTH   56.0
#define STRIP_GAP     14.0

struct _ImpAveragePlot
{
  GtkWidget          parent_instance;
  ImpAnalysisResult *result;
  int                index;
};

G_DEFINE_FINAL_TYPE (ImpAveragePlot, imp_average_plot, GTK_TYPE_WIDGET)

typedef struct
{
  double t0, t1, v0, v1;
  double left, right, top, bottom;
  double strip_left;
} Frame;

static double
frame_x (const Frame *f,
         double       t)
{
  return f->left + (t - f->t0) / (f->t1 - f->t0) * (f->right - f->left);
}

static double
frame_y (const Frame *f,
         double       v)
{
  return f->bottom - (v - f->v0) / (f->v1 - f->v0) * (f->bottom - f->top);
}

static const ImpCandidate *
get_candidate (ImpAveragePlot *self)
{
  if (self->result == NULL || self->index < 0
      || (guint) self->index >= self->result->candidates->len)
    return NULL;
  return g_ptr_array_index (self->result->candidates, self->index);
}

static void
value_range (const ImpCandidate *c,
             double             *lo,
             double             *hi)
{
  *lo = 0.0;
  *hi = 0.0;
  for (guint i = 0; c->average != NULL && i < c->average_len; i++)
    if (isfinite (c->average[i]))
      {
        *lo = MIN (*lo, c->average[i]);
        *hi = MAX (*hi, c->average[i]);
      }
  for (guint i = 0; c->trial_amplitudes != NULL && i < c->n_trials; i++)
    if (isfinite (c->trial_amplitudes[i]))
      {
        *lo = MIN (*lo, c->trial_amplitudes[i]);
        *hi = MAX (*hi, c->trial_amplitudes[i]);
      }
  if (*hi - *lo < 0.05)
    {
      *lo -= 0.05;
      *hi += 0.05;
    }
  else
    {
      double pad = (*hi - *lo) * 0.08;

      *lo -= pad;
      *hi += pad;
    }
}

/* The value axis's title, shortened when the plot is too short for the
 * whole of it. */
static const char *
y_title (ImpAveragePlot *self,
         double          room)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (GTK_WIDGET (self), 0.85);
  double w = 0;

  imp_plot_text_size (text, _("Postsynaptic Vm (mV)"), &w, NULL);
  return w <= room ? _("Postsynaptic Vm (mV)") : _("Vm (mV)");
}

/* Room for the axis title and the widest value label beside it. */
static double
left_margin (ImpAveragePlot *self,
             const Frame    *f)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (GTK_WIDGET (self), 0.85);
  double title_h = 0;
  double widest = 0;
  ImpTicks ticks;

  imp_plot_text_size (text, _("Postsynaptic Vm (mV)"), NULL, &title_h);
  /* the same ticks as draw_axes() */
  imp_plot_ticks (f->v0, f->v1,
                  MAX (2, (guint) ((f->bottom - f->top) / 36)), &ticks);
  for (guint i = 0; i < ticks.n; i++)
    {
      g_autofree char *label = imp_plot_format_tick (ticks.first
                                                     + i * ticks.step,
                                                     ticks.step);
      double w;

      imp_plot_text_size (text, label, &w, NULL);
      widest = MAX (widest, w);
    }
  return ceil (TITLE_LEFT + title_h + 6 + widest + 6);
}

static void
draw_message (ImpAveragePlot *self,
              cairo_t        *cr,
              const char     *message,
              int             width,
              int             height)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (GTK_WIDGET (self), 1.0);
  GdkRGBA fg;

  /* wrapped and centred, so that a narrow pane shows all of it */
  pango_layout_set_width (text, MAX (width - 24, 40) * PANGO_SCALE);
  pango_layout_set_wrap (text, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment (text, PANGO_ALIGN_CENTER);
  imp_plot_get_foreground (GTK_WIDGET (self), &fg);
  imp_plot_set_source (cr, &fg, 0.55);
  imp_plot_text (cr, text, message, width / 2.0, height / 2.0, 0.5, 0.5);
}

static void
draw_axes (ImpAveragePlot *self,
           cairo_t        *cr,
           const Frame    *f,
           const GdkRGBA  *fg)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (GTK_WIDGET (self), 0.85);
  ImpTicks ticks;
  guint max_x = MAX (2, (guint) ((f->right - f->left) / 60));
  guint max_y = MAX (2, (guint) ((f->bottom - f->top) / 36));

  cairo_set_line_width (cr, 1.0);

  imp_plot_ticks (f->v0, f->v1, max_y, &ticks);
  for (guint i = 0; i < ticks.n; i++)
    {
      double v = ticks.first + i * ticks.step;
      g_autofree char *label = imp_plot_format_tick (v, ticks.step);
      double y = round (frame_y (f, v)) + 0.5;

      imp_plot_set_source (cr, fg, fabs (v) < ticks.step * 1e-6 ? 0.3 : 0.1);
      cairo_move_to (cr, f->left, y);
      cairo_line_to (cr, f->strip_left + STRIP_WIDTH, y);
      cairo_stroke (cr);
      imp_plot_set_source (cr, fg, 0.75);
      imp_plot_text (cr, text, label, f->left - 6, y, 1.0, 0.5);
    }

  imp_plot_x_axis (cr, text, fg, f->t0, f->t1, f->left, f->right, f->top,
                   f->bottom, max_x);

  imp_plot_set_source (cr, fg, 0.9);
  imp_plot_text (cr, text, _("Time from presynaptic AP (ms)"),
                 (f->left + f->right) / 2, f->bottom + 24, 0.5, 0.0);
  imp_plot_text (cr, text, _("Trials"), f->strip_left + STRIP_WIDTH / 2,
                 f->bottom + 6, 0.5, 0.0);
  cairo_save (cr);
  cairo_translate (cr, 12, (f->top + f->bottom) / 2);
  cairo_rotate (cr, -G_PI_2);
  imp_plot_text (cr, text, y_title (self, f->bottom - f->top + MARGIN_TOP),
                 0, 0, 0.5, 0.0);
  cairo_restore (cr);
}

static void
draw_markers (ImpAveragePlot     *self,
              cairo_t            *cr,
              const Frame        *f,
              const ImpCandidate *c,
              const GdkRGBA      *fg,
              const GdkRGBA      *color)
{
  static const double dashes[] = { 4.0, 3.0 };
  g_autoptr(PangoLayout) text = imp_plot_layout_new (GTK_WIDGET (self), 0.85);
  g_autofree char *latency = NULL;
  double x0 = round (frame_x (f, 0.0)) + 0.5;
  double xl = round (frame_x (f, c->latency_ms)) + 0.5;

  double w;

  /* the AP's label sits left of its line and the latency's right of its
   * own, so the two never meet however short the latency */
  imp_plot_set_source (cr, fg, 0.7);
  cairo_set_line_width (cr, 1.5);
  cairo_move_to (cr, x0, f->top);
  cairo_line_to (cr, x0, f->bottom);
  cairo_stroke (cr);
  imp_plot_text (cr, text, _("AP"), x0 - 4, f->top - 2, 1.0, 1.0);

  if (!imp_plot_has_latency (c) || c->latency_ms < f->t0
      || c->latency_ms > f->t1)
    return;

  imp_plot_set_source (cr, color, 0.9);
  cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  cairo_move_to (cr, xl, f->top);
  cairo_line_to (cr, xl, f->bottom);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  latency = g_strdup_printf (_("latency %.2f ms"), c->latency_ms);
  imp_plot_text_size (text, latency, &w, NULL);
  /* the trial strip's top is free for a label that runs over */
  imp_plot_text (cr, text, latency,
                 MIN (xl + 4, f->strip_left + STRIP_WIDTH - w), f->top - 2,
                 0.0, 1.0);
}

static void
draw_average (ImpAveragePlot     *self,
              cairo_t            *cr,
              const Frame        *f,
              const ImpCandidate *c,
              const GdkRGBA      *color)
{
  double rate = self->result->sample_rate;
  gboolean pen_down = FALSE;

  cairo_save (cr);
  cairo_rectangle (cr, f->left, f->top - 1, f->right - f->left,
                   f->bottom - f->top + 2);
  cairo_clip (cr);
  for (guint i = 0; i < c->average_len; i++)
    {
      double t = i / rate * 1000.0 - self->result->params.window_pre_ms;

      if (!isfinite (c->average[i]))
        {
          pen_down = FALSE;
          continue;
        }
      if (pen_down)
        cairo_line_to (cr, frame_x (f, t), frame_y (f, c->average[i]));
      else
        cairo_move_to (cr, frame_x (f, t), frame_y (f, c->average[i]));
      pen_down = TRUE;
    }
  imp_plot_set_source (cr, color, 1.0);
  cairo_set_line_width (cr, 2.0);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* The PSP fitted to the average (its onset is the latency), thin over
 * the average, and a key in the corner. */
static void
draw_fit (ImpAveragePlot     *self,
          cairo_t            *cr,
          const Frame        *f,
          const ImpCandidate *c,
          const GdkRGBA      *fg)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (GTK_WIDGET (self), 0.85);
  double step = (f->t1 - f->t0) / MAX (f->right - f->left, 1) * 2;
  gboolean pen_down = FALSE;
  double t, w, h, x, y;

  if (!imp_plot_has_latency (c) || !isfinite (imp_psp_fit_value (&c->fit,
                                                                   f->t1)))
    return;
  cairo_save (cr);
  cairo_rectangle (cr, f->left, f->top - 1, f->right - f->left,
                   f->bottom - f->top + 2);
  cairo_clip (cr);
  for (t = f->t0; t <= f->t1 + step / 2; t += step)
    {
      double v = imp_psp_fit_value (&c->fit, MIN (t, f->t1));

      if (pen_down)
        cairo_line_to (cr, frame_x (f, MIN (t, f->t1)), frame_y (f, v));
      else
        cairo_move_to (cr, frame_x (f, t), frame_y (f, v));
      pen_down = TRUE;
    }
  imp_plot_set_source (cr, fg, 0.8);
  cairo_set_line_width (cr, 1.25);
  cairo_stroke (cr);
  cairo_restore (cr);

  imp_plot_text_size (text, _("fitted PSP"), &w, &h);
  x = f->right - 6 - w;
  y = f->top + 4 + h / 2;
  imp_plot_set_source (cr, fg, 0.8);
  cairo_set_line_width (cr, 1.25);
  cairo_move_to (cr, x - 22, round (y) + 0.5);
  cairo_line_to (cr, x - 4, round (y) + 0.5);
  cairo_stroke (cr);
  imp_plot_set_source (cr, fg, 0.85);
  imp_plot_text (cr, text, _("fitted PSP"), x, y, 0.0, 0.5);
}

/* The strip: one dot per trial, spread sideways by a fixed pseudo-random
 * jitter so that equal amplitudes stay visible, and the mean as a bar. */
static void
draw_strip (ImpAveragePlot     *self,
            cairo_t            *cr,
            const Frame        *f,
            const ImpCandidate *c,
            const GdkRGBA      *fg,
            const GdkRGBA      *color)
{
  double sum = 0;
  guint n = 0;
  double y;

  imp_plot_set_source (cr, fg, 0.04);
  cairo_rectangle (cr, f->strip_left, f->top, STRIP_WIDTH,
                   f->bottom - f->top);
  cairo_fill (cr);

  for (guint i = 0; c->trial_amplitudes != NULL && i < c->n_trials; i++)
    {
      float v = c->trial_amplitudes[i];
      double jitter = ((i * 2654435761u) % 1000) / 1000.0;

      if (!isfinite (v))
        continue;
      cairo_arc (cr, f->strip_left + 8 + jitter * (STRIP_WIDTH - 16),
                 frame_y (f, v), 2.2, 0, 2 * G_PI);
      cairo_close_path (cr);
      sum += v;
      n++;
    }
  imp_plot_set_source (cr, color, 0.45);
  cairo_fill (cr);

  if (n == 0)
    return;
  y = round (frame_y (f, sum / n)) + 0.5;
  imp_plot_set_source (cr, fg, 0.9);
  cairo_set_line_width (cr, 2.0);
  cairo_move_to (cr, f->strip_left + 4, y);
  cairo_line_to (cr, f->strip_left + STRIP_WIDTH - 4, y);
  cairo_stroke (cr);
}

static void
draw (ImpAveragePlot *self,
      cairo_t        *cr,
      int             width,
      int             height)
{
  const ImpCandidate *c = get_candidate (self);
  GdkRGBA fg, color;
  Frame f;
  double rate;

  if (c == NULL)
    {
      draw_message (self, cr, _("Select a pair to see its average response"),
                    width, height);
      return;
    }
  rate = self->result->sample_rate;
  if (c->average == NULL || c->average_len < 2 || !(rate > 0))
    {
      draw_message (self, cr, _("No average stored for this pair"),
                    width, height);
      return;
    }

  imp_plot_get_foreground (GTK_WIDGET (self), &fg);
  /* an artefact is no PSP: no sign colour */
  imp_plot_sign_color (c->artefact ? '?' : c->sign, &color);

  f.t0 = -self->result->params.window_pre_ms;
  f.t1 = f.t0 + (c->average_len - 1) / rate * 1000.0;
  value_range (c, &f.v0, &f.v1);
  f.top = MARGIN_TOP;
  f.bottom = height - MARGIN_BOTTOM;
  f.left = left_margin (self, &f);
  f.right = width - MARGIN_RIGHT - STRIP_WIDTH - STRIP_GAP;
  f.strip_left = f.right + STRIP_GAP;
  if (f.right - f.left < 60 || f.bottom - f.top < 40)
    return;

  draw_axes (self, cr, &f, &fg);
  draw_markers (self, cr, &f, c, &fg, &color);
  draw_average (self, cr, &f, c, &color);
  draw_fit (self, cr, &f, c, &fg);
  draw_strip (self, cr, &f, c, &fg, &color);
}

static void
imp_average_plot_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;

  cr = gtk_snapshot_append_cairo (snapshot,
                                  &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw (IMP_AVERAGE_PLOT (widget), cr, width, height);
  cairo_destroy (cr);
}

static void
imp_average_plot_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 240;
      *natural = 420;
    }
  else
    {
      *minimum = 180;
      *natural = 300;
    }
}

static void
imp_average_plot_finalize (GObject *object)
{
  ImpAveragePlot *self = IMP_AVERAGE_PLOT (object);

  g_clear_pointer (&self->result, imp_analysis_result_unref);

  G_OBJECT_CLASS (imp_average_plot_parent_class)->finalize (object);
}

static void
imp_average_plot_class_init (ImpAveragePlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = imp_average_plot_finalize;
  widget_class->snapshot = imp_average_plot_snapshot;
  widget_class->measure = imp_average_plot_measure;
  gtk_widget_class_set_css_name (widget_class, "impaverageplot");
}

static void
imp_average_plot_init (ImpAveragePlot *self)
{
  self->index = -1;
}

/**
 * imp_average_plot_new:
 *
 * Returns: (transfer floating): an empty plot
 */
GtkWidget *
imp_average_plot_new (void)
{
  return g_object_new (IMP_TYPE_AVERAGE_PLOT, NULL);
}

/**
 * imp_average_plot_set_candidate:
 * @self: a plot
 * @result: (nullable): the analysis result
 * @index: a candidate index in @result, or -1 for none
 */
void
imp_average_plot_set_candidate (ImpAveragePlot    *self,
                                ImpAnalysisResult *result,
                                int                index)
{
  g_return_if_fail (IMP_IS_AVERAGE_PLOT (self));

  if (result != NULL)
    imp_analysis_result_ref (result);
  g_clear_pointer (&self->result, imp_analysis_result_unref);
  self->result = result;
  self->index = index;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
