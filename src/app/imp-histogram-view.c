/* imp-histogram-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <adwaita.h>
#include <glib/gi18n.h>

#include "imp-binning.h"
#include "imp-histogram-view-private.h"
#include "imp-plot.h"

#define MARGIN_LEFT   64.0
#define MARGIN_RIGHT  24.0
#define MARGIN_TOP    28.0
#define MARGIN_BOTTOM 48.0

struct _ImpHistogramView
{
  GtkWidget   parent_instance;

  ImpSession *session;

  /* the binned data: a model of the selected candidate's amplitudes */
  int         candidate;
  guint      *counts;
  guint       n_bins;
  double      origin;
  double      width;
  double      mean;
  double      sd;
  guint       n_finite;
  gboolean    updating;

  GtkWidget  *stack;
  GtkWidget  *status_page;
  GtkWidget  *title;
  GtkWidget  *note;
  GtkWidget  *bin_width;
  GtkWidget  *canvas;
  GtkWidget  *stats;
  GtkWidget  *quantal;
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ImpHistogramView, imp_histogram_view, GTK_TYPE_WIDGET)

static const char *
channel_label (ImpAnalysisResult *result,
               guint              channel)
{
  if (result->labels != NULL && channel < result->n_channels
      && result->labels[channel] != NULL)
    return result->labels[channel];
  return "?";
}

/* The amplitudes shown: those the quantal fit used (isolated trials, each
 * fitted with the average's shape) when the analysis made them, else
 * every trial's. */
static const float *
shown_amplitudes (const ImpCandidate *c,
                  guint              *n)
{
  if (c->quantal_amplitudes != NULL && c->n_quantal_trials > 0)
    {
      *n = c->n_quantal_trials;
      return c->quantal_amplitudes;
    }
  *n = c->n_trials;
  return c->trial_amplitudes;
}

static gboolean
shows_quantal (const ImpCandidate *c)
{
  return c->quantal_amplitudes != NULL && c->n_quantal_trials > 0;
}

static void
rebin (ImpHistogramView *self)
{
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  g_autofree char *stats = NULL;
  const float *values;
  guint n_values;
  double width;

  g_clear_pointer (&self->counts, g_free);
  self->n_bins = 0;
  if (c == NULL)
    return;
  values = shown_amplitudes (c, &n_values);
  if (n_values == 0 || values == NULL)
    return;

  width = gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->bin_width));
  self->counts = imp_binning_count (values, n_values, width,
                                    &self->origin, &self->width,
                                    &self->n_bins);
  /* the spin button's lower bound keeps the two apart only by rounding */
  if (fabs (self->width - width) > IMP_BINNING_RESOLUTION / 2)
    {
      self->updating = TRUE;
      gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->bin_width),
                                 self->width);
      self->updating = FALSE;
    }
  imp_binning_stats (values, n_values, &self->mean, &self->sd,
                     &self->n_finite);

  if (shows_quantal (c))
    stats = g_strdup_printf (_("%u of %u trials (no other presynaptic AP "
                               "within %.0f ms; each the average's shape "
                               "fitted) · mean %+.3f mV · SD %.3f mV · "
                               "%u bins of %.3f mV"),
                             self->n_finite, c->n_trials,
                             IMP_ANALYSIS_ISOLATION_MS, self->mean, self->sd,
                             self->n_bins, self->width);
  else
    stats = g_strdup_printf (_("%u trials · mean %+.3f mV · SD %.3f mV · "
                               "%u bins of %.3f mV"),
                             self->n_finite, self->mean, self->sd,
                             self->n_bins, self->width);
  gtk_label_set_text (GTK_LABEL (self->stats), stats);
  gtk_widget_queue_draw (self->canvas);
}

/* The status page when no pair is selected, with what is missing. */
static void
show_status (ImpHistogramView *self)
{
  AdwStatusPage *page = ADW_STATUS_PAGE (self->status_page);
  const char *title = _("No Connection Selected");
  const char *description = _("Select a connection in the Pairs or Map view "
                              "to see the distribution of its PSP "
                              "amplitudes.");

  switch (imp_plot_get_view_state (self->session))
    {
    case IMP_VIEW_STATE_NO_RECORDING:
      description = _("Open a recording and run the analysis, then select a "
                      "connection to see the distribution of its PSP "
                      "amplitudes.");
      break;
    case IMP_VIEW_STATE_ANALYSING:
      title = _("Analysing…");
      description = _("When the analysis has finished, select a connection "
                      "to see the distribution of its PSP amplitudes.");
      break;
    case IMP_VIEW_STATE_NOT_ANALYSED:
      title = _("Not Analysed");
      description = _("Run the analysis (Ctrl+R), then select a connection "
                      "to see the distribution of its PSP amplitudes.");
      break;
    case IMP_VIEW_STATE_NO_RESULT:
      title = _("No Analysis Yet");
      description = _("The analysis has not been run yet or is still "
                      "running; then select a connection to see the "
                      "distribution of its PSP amplitudes.");
      break;
    case IMP_VIEW_STATE_READY:
    default:
      break;
    }

  adw_status_page_set_title (page, title);
  adw_status_page_set_description (page, description);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
}

static gboolean draws_binomial (const ImpCandidate *c);

/* The automatic width; where the binomial peaks are drawn, at most a
 * fifth of q, so that the peaks show (the Freedman–Diaconis width follows
 * the whole spread, which the quanta make wide). */
static double
auto_width (const ImpCandidate *c,
            const float        *values,
            guint               n_values)
{
  double width = imp_binning_auto_width (values, n_values);

  if (draws_binomial (c))
    width = MIN (width, MAX (c->quantal.q_mv / 5,
                             imp_binning_min_width (values, n_values)));
  return round (width / IMP_BINNING_RESOLUTION) * IMP_BINNING_RESOLUTION;
}

static void
set_auto_width (ImpHistogramView *self)
{
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  GtkAdjustment *adjustment;
  const float *values;
  guint n_values;

  if (c == NULL)
    return;
  values = shown_amplitudes (c, &n_values);
  if (n_values == 0 || values == NULL)
    return;

  /* no narrower than IMP_BINNING_MAX_BINS bins allow for this pair */
  adjustment = gtk_spin_button_get_adjustment
                 (GTK_SPIN_BUTTON (self->bin_width));
  self->updating = TRUE;
  gtk_adjustment_set_lower (adjustment,
                            imp_binning_min_width (values, n_values));
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->bin_width),
                             auto_width (c, values, n_values));
  self->updating = FALSE;
}

/* The quantal fit in words (the same as `imprint analyze --json` gives):
 * q, n and p with their intervals and the BIC verdict, or why no quanta
 * are claimed. */
static void
update_quantal_caption (ImpHistogramView   *self,
                        const ImpCandidate *c)
{
  g_autofree char *text = NULL;
  g_autofree char *caption = NULL;

  if (c->quantal.verdict == IMP_QUANTAL_NOT_FITTED)
    {
      gtk_widget_set_visible (self->quantal, FALSE);
      return;
    }
  text = imp_quantal_fit_describe (&c->quantal);
  /* a refusal says "No quanta claimed: why" by itself */
  caption = c->quantal.verdict == IMP_QUANTAL_QUANTA
            ? g_strdup_printf (_("Quantal fit: %s"), text)
            : g_strdup (text);
  gtk_label_set_text (GTK_LABEL (self->quantal), caption);
  gtk_widget_set_visible (self->quantal, TRUE);
}

static void
update (ImpHistogramView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  int index = imp_session_get_selected (self->session);
  g_autofree char *title = NULL;
  const float *values;
  guint n_values;

  g_clear_pointer (&self->counts, g_free);
  self->n_bins = 0;

  if (c == NULL || result == NULL)
    {
      self->candidate = -1;
      show_status (self);
      return;
    }

  values = shown_amplitudes (c, &n_values);
  if (!imp_binning_stats (values, n_values, &self->mean, &self->sd,
                          &self->n_finite))
    {
      self->candidate = -1;
      g_clear_pointer (&self->counts, g_free);
      adw_status_page_set_title (ADW_STATUS_PAGE (self->status_page),
                                 _("No Trials"));
      adw_status_page_set_description
        (ADW_STATUS_PAGE (self->status_page),
         _("No presynaptic AP of this pair left a measurable PSP amplitude "
           "(none fired, or each fell too close to another AP)."));
      gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
      return;
    }

  /* an artefact is no synapse: its sign means nothing */
  title = g_strdup_printf (_("%s → %s · %s"),
                           channel_label (result, c->pre),
                           channel_label (result, c->post),
                           c->artefact ? _("artefact")
                           : c->sign == 'I' ? _("inhibitory")
                                            : _("excitatory"));
  gtk_label_set_text (GTK_LABEL (self->title), title);
  gtk_widget_set_visible (self->note, c->artefact);
  update_quantal_caption (self, c);

  /* a new pair gets its own automatic width */
  if (index != self->candidate)
    {
      self->candidate = index;
      set_auto_width (self);
    }
  rebin (self);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "plot");
}

/* Drawing */

typedef struct
{
  double x0, x1, y0, y1;          /* data range */
  double left, right, top, bottom; /* plot box in pixels */
} Frame;

static double
frame_x (const Frame *f,
         double       v)
{
  return f->left + (v - f->x0) / (f->x1 - f->x0) * (f->right - f->left);
}

static double
frame_y (const Frame *f,
         double       v)
{
  return f->bottom - (v - f->y0) / (f->y1 - f->y0) * (f->bottom - f->top);
}

static void
draw_axes (ImpHistogramView *self,
           cairo_t          *cr,
           const Frame      *f,
           const GdkRGBA    *fg)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.85);
  ImpTicks ticks;
  guint max_x = MAX (2, (guint) ((f->right - f->left) / 70));
  guint max_y = MAX (2, (guint) ((f->bottom - f->top) / 40));

  cairo_set_line_width (cr, 1.0);

  imp_plot_ticks (f->y0, f->y1, max_y, &ticks);
  ticks.step = MAX (ticks.step, 1.0);
  for (double v = ceil (f->y0 / ticks.step) * ticks.step;
       v <= f->y1 + 1e-9; v += ticks.step)
    {
      g_autofree char *label = imp_plot_format_tick (v, ticks.step);
      double y = round (frame_y (f, v)) + 0.5;

      imp_plot_set_source (cr, fg, 0.1);
      cairo_move_to (cr, f->left, y);
      cairo_line_to (cr, f->right, y);
      cairo_stroke (cr);
      imp_plot_set_source (cr, fg, 0.75);
      imp_plot_text (cr, text, label, f->left - 6, y, 1.0, 0.5);
    }

  imp_plot_x_axis (cr, text, fg, f->x0, f->x1, f->left, f->right, f->top,
                   f->bottom, max_x);

  imp_plot_set_source (cr, fg, 0.9);
  imp_plot_text (cr, text, _("PSP amplitude (mV)"),
                 (f->left + f->right) / 2, f->bottom + 26, 0.5, 0.0);
  cairo_save (cr);
  cairo_translate (cr, 14, (f->top + f->bottom) / 2);
  cairo_rotate (cr, -G_PI_2);
  imp_plot_text (cr, text, _("Trials (count)"), 0, 0, 0.5, 0.0);
  cairo_restore (cr);
}

static void
draw_bars (ImpHistogramView *self,
           cairo_t          *cr,
           const Frame      *f,
           const GdkRGBA    *color)
{
  for (guint i = 0; i < self->n_bins; i++)
    {
      double x0, x1, y;

      if (self->counts[i] == 0)
        continue;
      x0 = frame_x (f, self->origin + i * self->width);
      x1 = frame_x (f, self->origin + (i + 1) * self->width);
      y = frame_y (f, self->counts[i]);
      cairo_rectangle (cr, x0, y, MAX (x1 - x0, 1.0), f->bottom - y);
    }

  imp_plot_set_source (cr, color, 0.55);
  cairo_fill_preserve (cr);
  imp_plot_set_source (cr, color, 1.0);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);
}

static void
draw_mean (ImpHistogramView *self,
           cairo_t          *cr,
           const Frame      *f,
           const GdkRGBA    *fg)
{
  static const double dashes[] = { 5.0, 3.0 };
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.85);
  g_autofree char *label = NULL;
  double x = round (frame_x (f, self->mean)) + 0.5;
  double xalign = x > (f->left + f->right) / 2 ? 1.0 : 0.0;

  imp_plot_set_source (cr, fg, 0.85);
  cairo_set_line_width (cr, 1.5);
  cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  cairo_move_to (cr, x, f->top - 4);
  cairo_line_to (cr, x, f->bottom);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  label = g_strdup_printf (_("mean %+.3f mV"), self->mean);
  imp_plot_text (cr, text, label, x + (xalign > 0 ? -4 : 4), f->top - 4,
                 xalign, 1.0);
}

/* Which fitted curve to draw: the binomial peaks when quanta are claimed;
 * the model BIC preferred, dashed, when not; none without a fit. */
typedef enum
{
  CURVE_NONE,
  CURVE_QUANTA,
  CURVE_GAUSSIAN,
  CURVE_MIXTURE,
  CURVE_BINOMIAL_REFUSED
} Curve;

static Curve
fit_curve (const ImpCandidate *c)
{
  const ImpQuantalFit *fit = &c->quantal;

  if (!shows_quantal (c))
    return CURVE_NONE;
  switch (fit->verdict)
    {
    case IMP_QUANTAL_QUANTA:
      return CURVE_QUANTA;
    case IMP_QUANTAL_UNIMODAL:
      return CURVE_GAUSSIAN;
    case IMP_QUANTAL_NOT_EVEN:
      return CURVE_MIXTURE;
    case IMP_QUANTAL_FEW_PEAKS:
    case IMP_QUANTAL_UNRESOLVED:
    case IMP_QUANTAL_AMBIGUOUS:
      return CURVE_BINOMIAL_REFUSED;
    case IMP_QUANTAL_NOT_FITTED:
    case IMP_QUANTAL_NOT_SIGNIFICANT:
    case IMP_QUANTAL_TOO_FEW_TRIALS:
    case IMP_QUANTAL_NO_SPREAD:
    default:
      return CURVE_NONE;
    }
}

static gboolean
draws_binomial (const ImpCandidate *c)
{
  Curve curve = fit_curve (c);

  return curve == CURVE_QUANTA || curve == CURVE_BINOMIAL_REFUSED;
}

/* The fitted count per bin at @x: the density times the number of
 * amplitudes and the bin width. @k as for imp_quantal_fit_density(). */
static double
fit_count (ImpHistogramView   *self,
           const ImpCandidate *c,
           int                 k,
           double              x)
{
  double density = imp_quantal_fit_density (&c->quantal, k, x);

  return isfinite (density) ? density * c->quantal.n_used * self->width : 0;
}

static int
curve_model (Curve curve)
{
  switch (curve)
    {
    case CURVE_GAUSSIAN:
      return IMP_QUANTAL_DENSITY_GAUSSIAN;
    case CURVE_MIXTURE:
      return IMP_QUANTAL_DENSITY_MIXTURE;
    case CURVE_NONE:
    case CURVE_QUANTA:
    case CURVE_BINOMIAL_REFUSED:
    default:
      return IMP_QUANTAL_DENSITY_BINOMIAL;
    }
}

static double
curve_max (ImpHistogramView   *self,
           const ImpCandidate *c,
           const Frame        *f,
           Curve               curve)
{
  double top = 0;

  if (curve == CURVE_NONE)
    return 0;
  for (int i = 0; i <= 400; i++)
    top = MAX (top, fit_count (self, c, curve_model (curve),
                               f->x0 + (f->x1 - f->x0) * i / 400));
  return top;
}

static void
trace_curve (ImpHistogramView   *self,
             cairo_t            *cr,
             const Frame        *f,
             const ImpCandidate *c,
             int                 k)
{
  double step = (f->x1 - f->x0) / MAX (f->right - f->left, 1) * 1.5;

  cairo_new_path (cr);
  for (double x = f->x0; x <= f->x1 + step / 2; x += step)
    cairo_line_to (cr, frame_x (f, x),
                   frame_y (f, MIN (fit_count (self, c, k, x), f->y1)));
}

/* Each peak k at sign·k·q, its weight scaled to the histogram, a mark and
 * its number above it where it holds at least one trial, and the sum. */
static void
draw_quanta (ImpHistogramView   *self,
             cairo_t            *cr,
             const Frame        *f,
             const ImpCandidate *c,
             const GdkRGBA      *fg)
{
  const ImpQuantalFit *fit = &c->quantal;
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.8);

  cairo_set_line_width (cr, 1.0);
  for (guint k = 0; k <= fit->n; k++)
    {
      trace_curve (self, cr, f, c, (int) k);
      imp_plot_set_source (cr, fg, 0.45);
      cairo_stroke (cr);
    }

  trace_curve (self, cr, f, c, IMP_QUANTAL_DENSITY_BINOMIAL);
  imp_plot_set_source (cr, fg, 0.9);
  cairo_set_line_width (cr, 2.0);
  cairo_stroke (cr);

  for (guint k = 0; k <= fit->n; k++)
    {
      double at = fit->sign * (double) k * fit->q_mv;
      double x = frame_x (f, at);
      double y = frame_y (f, MIN (fit_count (self, c,
                                             IMP_QUANTAL_DENSITY_BINOMIAL,
                                             at), f->y1)) - 4;
      g_autofree char *label = NULL;

      if (fit->weights[k] * fit->n_used < 1 || x < f->left || x > f->right)
        continue;
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x - 4, y - 7);
      cairo_line_to (cr, x + 4, y - 7);
      cairo_close_path (cr);
      imp_plot_set_source (cr, fg, 0.9);
      cairo_fill (cr);
      label = k == 0 ? g_strdup ("0") : k == 1 ? g_strdup ("q")
                     : g_strdup_printf ("%uq", k);
      imp_plot_text (cr, text, label, x, y - 9, 0.5, 1.0);
    }
}

static void
draw_fit (ImpHistogramView   *self,
          cairo_t            *cr,
          const Frame        *f,
          const ImpCandidate *c,
          const GdkRGBA      *fg)
{
  static const double dashes[] = { 6.0, 4.0 };
  Curve curve = fit_curve (c);

  if (curve == CURVE_NONE)
    return;
  if (curve == CURVE_QUANTA)
    {
      draw_quanta (self, cr, f, c, fg);
      return;
    }
  trace_curve (self, cr, f, c, curve_model (curve));
  imp_plot_set_source (cr, fg, 0.7);
  cairo_set_line_width (cr, 1.5);
  cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

static void
draw_cb (GtkDrawingArea *area,
         cairo_t        *cr,
         int             width,
         int             height,
         gpointer        user_data)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (user_data);
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  guint max_count = 1;
  GdkRGBA fg;
  GdkRGBA color;
  Frame f;
  double pad;

  if (self->counts == NULL || c == NULL)
    return;

  imp_plot_get_foreground (GTK_WIDGET (area), &fg);
  /* an artefact is no PSP: no sign colour */
  imp_plot_sign_color (c->artefact ? '?' : c->sign, &color);

  for (guint i = 0; i < self->n_bins; i++)
    max_count = MAX (max_count, self->counts[i]);

  /* zero stays in view: failures and the quantal steps count from it */
  f.x0 = MIN (self->origin, 0.0);
  f.x1 = MAX (self->origin + self->n_bins * self->width, 0.0);
  pad = (f.x1 - f.x0) * 0.03;
  f.x0 -= pad;
  f.x1 += pad;
  f.y0 = 0;
  f.y1 = MAX (max_count, curve_max (self, c, &f, fit_curve (c))) * 1.08;
  if (fit_curve (c) == CURVE_QUANTA)
    f.y1 *= 1.12;  /* room for the peak marks */
  f.left = MARGIN_LEFT;
  f.right = width - MARGIN_RIGHT;
  f.top = MARGIN_TOP;
  f.bottom = height - MARGIN_BOTTOM;
  if (f.right - f.left < 40 || f.bottom - f.top < 40)
    return;

  draw_axes (self, cr, &f, &fg);
  draw_bars (self, cr, &f, &color);
  draw_mean (self, cr, &f, &fg);
  draw_fit (self, cr, &f, c, &fg);
}

/* Callbacks */

static void
bin_width_changed_cb (ImpHistogramView *self)
{
  if (self->updating)
    return;
  rebin (self);
}

/* Text that is not a number leaves the width as it was; a number out of
 * range is clamped by the spin button. */
static int
bin_width_input_cb (GtkSpinButton    *spin,
                    double           *new_value,
                    ImpHistogramView *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (spin));
  char *end = NULL;
  double value;

  value = g_strtod (text, &end);
  while (end != NULL && g_ascii_isspace (*end))
    end++;
  if (end == text || end == NULL || *end != '\0' || !isfinite (value))
    value = gtk_spin_button_get_value (spin);

  /* what the three decimals show is what is used */
  *new_value = round (value / IMP_BINNING_RESOLUTION) * IMP_BINNING_RESOLUTION;
  return TRUE;
}

static void
auto_clicked_cb (ImpHistogramView *self)
{
  set_auto_width (self);
  rebin (self);
}

static void
session_changed_cb (ImpHistogramView *self)
{
  update (self);
}

/* A new result may keep the selected index (a rerun keeps the selected
 * pair) with other amplitudes: it gets its own automatic width and bounds. */
static void
result_changed_cb (ImpHistogramView *self)
{
  self->candidate = -1;
  update (self);
}

/* Object */

static void
imp_histogram_view_constructed (GObject *object)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (object);

  G_OBJECT_CLASS (imp_histogram_view_parent_class)->constructed (object);

  g_return_if_fail (IMP_IS_SESSION (self->session));

  g_signal_connect_object (self->session, "notify::result",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::selected",
                           G_CALLBACK (session_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (session_changed_cb), self,
                           G_CONNECT_SWAPPED);
  imp_plot_watch_analysing (self->session, G_CALLBACK (session_changed_cb),
                            self);
  update (self);
}

static void
imp_histogram_view_dispose (GObject *object)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), IMP_TYPE_HISTOGRAM_VIEW);
  g_clear_pointer (&self->counts, g_free);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (imp_histogram_view_parent_class)->dispose (object);
}

static void
imp_histogram_view_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_histogram_view_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Focus entering the view from outside (switching to it with the
 * keyboard, Tab from the sidebar) lands on the histogram, not in the bin
 * width's entry, where typing would change the bins; Shift+Tab reaches
 * the entry. */
static gboolean
imp_histogram_view_focus (GtkWidget        *widget,
                          GtkDirectionType  direction)
{
  ImpHistogramView *self = IMP_HISTOGRAM_VIEW (widget);

  if (gtk_widget_get_focus_child (widget) == NULL
      && direction == GTK_DIR_TAB_FORWARD
      && gtk_widget_is_drawable (self->canvas)
      && gtk_widget_grab_focus (self->canvas))
    return TRUE;
  return GTK_WIDGET_CLASS (imp_histogram_view_parent_class)->focus (widget,
                                                                   direction);
}

static void
imp_histogram_view_class_init (ImpHistogramViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = imp_histogram_view_constructed;
  object_class->dispose = imp_histogram_view_dispose;
  object_class->get_property = imp_histogram_view_get_property;
  object_class->set_property = imp_histogram_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                         | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/imprint/Imprint/"
                                               "imp-histogram-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        stack);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        status_page);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        title);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        note);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        bin_width);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        canvas);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        stats);
  gtk_widget_class_bind_template_child (widget_class, ImpHistogramView,
                                        quantal);
  gtk_widget_class_bind_template_callback (widget_class,
                                           bin_width_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, auto_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           bin_width_input_cb);

  widget_class->focus = imp_histogram_view_focus;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "imphistogramview");
}

static void
imp_histogram_view_init (ImpHistogramView *self)
{
  self->candidate = -1;
  self->width = 0.05;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_focusable (self->canvas, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->canvas), draw_cb,
                                  self, NULL);
}

/**
 * imp_histogram_view_new:
 * @session: the window's session
 *
 * Returns: (transfer floating): the PSP amplitude histogram view
 */
GtkWidget *
imp_histogram_view_new (ImpSession *session)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), NULL);

  return g_object_new (IMP_TYPE_HISTOGRAM_VIEW, "session", session, NULL);
}

/* Internal, for tests */

const guint *
_imp_histogram_view_get_bins (ImpHistogramView *self,
                              guint            *n_bins,
                              double           *origin,
                              double           *width)
{
  g_return_val_if_fail (IMP_IS_HISTOGRAM_VIEW (self), NULL);

  *n_bins = self->n_bins;
  if (origin != NULL)
    *origin = self->origin;
  if (width != NULL)
    *width = self->width;
  return self->counts;
}

void
_imp_histogram_view_set_bin_width (ImpHistogramView *self,
                                   double            width)
{
  g_return_if_fail (IMP_IS_HISTOGRAM_VIEW (self));

  gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->bin_width), width);
}

void
_imp_histogram_view_type_bin_width (ImpHistogramView *self,
                                    const char       *text)
{
  g_return_if_fail (IMP_IS_HISTOGRAM_VIEW (self));

  gtk_editable_set_text (GTK_EDITABLE (self->bin_width), text);
  gtk_spin_button_update (GTK_SPIN_BUTTON (self->bin_width));
}

double
_imp_histogram_view_get_bin_width (ImpHistogramView *self)
{
  g_return_val_if_fail (IMP_IS_HISTOGRAM_VIEW (self), 0.0);

  return gtk_spin_button_get_value (GTK_SPIN_BUTTON (self->bin_width));
}

const char *
_imp_histogram_view_get_quantal_text (ImpHistogramView *self)
{
  g_return_val_if_fail (IMP_IS_HISTOGRAM_VIEW (self), NULL);

  return gtk_widget_get_visible (self->quantal)
         ? gtk_label_get_text (GTK_LABEL (self->quantal)) : NULL;
}

double
_imp_histogram_view_fit_count (ImpHistogramView *self,
                               int               k,
                               double            amplitude_mv)
{
  ImpCandidate *c;

  g_return_val_if_fail (IMP_IS_HISTOGRAM_VIEW (self), NAN);

  c = imp_session_get_selected_candidate (self->session);
  if (c == NULL || fit_curve (c) == CURVE_NONE)
    return NAN;
  return fit_count (self, c, k, amplitude_mv);
}

gboolean
_imp_histogram_view_draws_quanta (ImpHistogramView *self)
{
  ImpCandidate *c;

  g_return_val_if_fail (IMP_IS_HISTOGRAM_VIEW (self), FALSE);

  c = imp_session_get_selected_candidate (self->session);
  return c != NULL && fit_curve (c) == CURVE_QUANTA;
}

void
_imp_histogram_view_get_texts (ImpHistogramView *self,
                               const char      **title,
                               const char      **stats,
                               const char      **note)
{
  g_return_if_fail (IMP_IS_HISTOGRAM_VIEW (self));

  *title = gtk_label_get_text (GTK_LABEL (self->title));
  *stats = gtk_label_get_text (GTK_LABEL (self->stats));
  *note = gtk_widget_get_visible (self->note)
          ? gtk_label_get_text (GTK_LABEL (self->note)) : NULL;
}
