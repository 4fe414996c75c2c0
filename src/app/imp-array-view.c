/* imp-array-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "imp-activity.h"
#include "imp-array-layout.h"
#include "imp-array-view-private.h"
#include "imp-plot.h"

#define PAD            10.0
#define LEGEND_LINE    18.0   /* height of a line of the legend */
#define SWATCH         10.0
#define RAMP_HEIGHT    10.0
#define N_LEVELS       64     /* colours of the continuous scale */
#define CLICK_SLOP     4.0    /* a press that moves further is a drag */
#define MEASURE_DELAY  150    /* ms after the focus stops moving */
#define DEFAULT_SPAN_S 5.0    /* measured while nothing is in focus */
#define MAX_PER_CHANNEL (16 * IMP_ACTIVITY_BLOCK)
#define LOG_RATIO      20.0   /* a wider range of activity is shown on a
                               * logarithmic scale */

/* Access classes, in the order of the legend. */
static const struct
{
  ImpAccess   access;
  guint32     rgb;
  const char *name;
} access_classes[] = {
  { IMP_ACCESS_INTRACELLULAR, 0x2ec27e, N_("intracellular") },
  { IMP_ACCESS_EXTRACELLULAR, 0xe5a50a, N_("extracellular") },
  { IMP_ACCESS_NONE,          0x77767b, N_("no signal") },
  { IMP_ACCESS_UNKNOWN,       0xc0bfbc, N_("unknown") },
};

#define NO_VALUE_RGB 0x9a9996

/* Viridis, at tenths: dark to light, readable by colour-blind people and
 * in grey. */
static const guint32 ramp_stops[] = {
  0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
  0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725,
};

static const char * const measure_names[] = {
  [IMP_ARRAY_MEASURE_ACCESS]       = N_("Access"),
  [IMP_ARRAY_MEASURE_FIRING_RATE]  = N_("Firing rate"),
  [IMP_ARRAY_MEASURE_PEAK_TO_PEAK] = N_("Peak to peak"),
  [IMP_ARRAY_MEASURE_RMS]          = N_("RMS"),
};

struct _ImpArrayView
{
  GtkWidget          parent_instance;

  ImpSession        *session;
  ImpRecording      *recording;
  ImpAnalysisResult *result;
  ImpArrayLayout    *layout;
  ImpArrayMeasure    measure;

  GtkWidget         *box;
  GtkWidget         *dropdown;
  GtkWidget         *canvas;
  GtkWidget         *status;
  GtkWidget         *clear_button;

  /* the measure's value per channel (NAN for none), and its scale */
  double            *values;
  gboolean           values_valid;
  char              *unit;
  const char        *no_value;      /* why a channel has no value */
  double             lo;
  double             hi;
  gboolean           any;           /* some channel has a value */
  guint              n_without;     /* channels without one */
  gboolean           log_scale;
  gboolean          *shown;         /* channel -> in the Traces view */
  guint              access_counts[4];

  /* activity of the time in focus, measured by a worker */
  ImpActivity       *activity;
  GCancellable      *cancellable;
  guint              measure_id;
  gint64             want_first;
  gint64             want_n;
  char              *activity_error;

  /* layout units to canvas pixels: x * scale + tx */
  double             scale;
  double             tx;
  double             ty;

  /* input */
  int                hover;
  int                key_cell;      /* the electrode the keys act on */
  double             press_x;
  double             press_y;
  gboolean           banding;
  double             band_x;
  double             band_y;
};

G_DEFINE_FINAL_TYPE (ImpArrayView, imp_array_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_MEASURE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void imp_array_view_schedule_measure (ImpArrayView *self);

/* Helpers */

static guint
n_channels (ImpArrayView *self)
{
  return self->recording != NULL
         ? imp_recording_get_n_channels (self->recording) : 0;
}

static void
rgb_to_rgba (guint32  rgb,
             GdkRGBA *rgba)
{
  rgba->red = ((rgb >> 16) & 0xff) / 255.0;
  rgba->green = ((rgb >> 8) & 0xff) / 255.0;
  rgba->blue = (rgb & 0xff) / 255.0;
  rgba->alpha = 1.0;
}

/* The colour at @t in [0, 1] of the continuous scale. */
static void
ramp_color (double   t,
            GdkRGBA *rgba)
{
  double pos = CLAMP (t, 0, 1) * (G_N_ELEMENTS (ramp_stops) - 1);
  guint i = MIN ((guint) pos, G_N_ELEMENTS (ramp_stops) - 2);
  double f = pos - i;
  GdkRGBA a, b;

  rgb_to_rgba (ramp_stops[i], &a);
  rgb_to_rgba (ramp_stops[i + 1], &b);
  rgba->red = a.red + f * (b.red - a.red);
  rgba->green = a.green + f * (b.green - a.green);
  rgba->blue = a.blue + f * (b.blue - a.blue);
  rgba->alpha = 1.0;
}

static ImpAccess
channel_access (ImpArrayView *self,
                guint         channel)
{
  if (self->result != NULL && self->result->access != NULL &&
      self->result->n_channels == n_channels (self))
    return self->result->access[channel];

  return imp_recording_get_channel (self->recording, channel)->access;
}

static guint
access_class (ImpAccess access)
{
  for (guint k = 0; k < G_N_ELEMENTS (access_classes); k++)
    if (access_classes[k].access == access)
      return k;
  return G_N_ELEMENTS (access_classes) - 1;
}

static const char *
channel_label (ImpArrayView *self,
               guint         channel)
{
  const ImpChannel *info = imp_recording_get_channel (self->recording,
                                                      channel);

  return info->label != NULL ? info->label : "";
}

/* The unit most channels have, which the activity scale is in. */
static const char *
main_unit (ImpArrayView *self)
{
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  const char *best = "";
  guint best_count = 0;

  for (guint c = 0; c < n_channels (self); c++)
    {
      const char *unit = imp_recording_get_channel (self->recording,
                                                    c)->unit;
      guint count;

      unit = unit != NULL ? unit : "";
      count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, unit)) + 1;
      g_hash_table_insert (counts, (gpointer) unit, GUINT_TO_POINTER (count));
      if (count > best_count)
        {
          best = unit;
          best_count = count;
        }
    }

  return best;
}

/* Values */

/* The window of samples whose activity is shown: the session's focus, or
 * the first seconds while there is none. */
static void
wanted_window (ImpArrayView *self,
               gint64       *first,
               gint64       *n)
{
  double rate = imp_recording_get_sample_rate (self->recording);
  gint64 total = imp_recording_get_n_samples (self->recording);
  double start_s, end_s;
  gint64 end;

  if (!imp_session_get_focus (self->session, &start_s, &end_s))
    {
      start_s = 0;
      end_s = DEFAULT_SPAN_S;
    }

  *first = CLAMP ((gint64) floor (start_s * rate), 0, MAX (total - 1, 0));
  end = CLAMP ((gint64) ceil (end_s * rate), *first + 1, MAX (total, 1));
  *n = end - *first;
}

static gboolean
is_activity (ImpArrayMeasure measure)
{
  return measure == IMP_ARRAY_MEASURE_PEAK_TO_PEAK ||
         measure == IMP_ARRAY_MEASURE_RMS;
}

static void
update_values (ImpArrayView *self)
{
  guint n = n_channels (self);
  double duration;
  gboolean any = FALSE;

  if (self->values_valid)
    return;

  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->unit, g_free);
  self->values = g_new (double, MAX (n, 1));
  self->no_value = NULL;
  self->log_scale = FALSE;
  self->lo = 0;
  self->hi = 1;
  for (guint c = 0; c < n; c++)
    self->values[c] = NAN;

  switch (self->measure)
    {
    case IMP_ARRAY_MEASURE_FIRING_RATE:
      self->unit = g_strdup (_("APs/s"));
      self->no_value = _("no intracellular access");
      if (self->result == NULL || self->result->aps == NULL ||
          self->result->n_channels != n)
        {
          self->no_value = imp_session_get_analyzing (self->session)
                           ? _("analysing…") : _("not analysed");
          break;
        }
      duration = imp_recording_get_duration (self->recording);
      for (guint c = 0; c < n && duration > 0; c++)
        if (channel_access (self, c) == IMP_ACCESS_INTRACELLULAR)
          self->values[c] = self->result->aps[c]->len / duration;
      break;

    case IMP_ARRAY_MEASURE_PEAK_TO_PEAK:
    case IMP_ARRAY_MEASURE_RMS:
      {
        const char *unit = main_unit (self);
        gboolean other = FALSE;

        self->unit = g_strdup (unit);
        self->no_value = _("not measured yet");
        if (self->activity == NULL || self->activity->n_channels != n)
          break;
        for (guint c = 0; c < n; c++)
          {
            const char *own = imp_recording_get_channel (self->recording,
                                                         c)->unit;
            float v = self->measure == IMP_ARRAY_MEASURE_RMS
                      ? self->activity->rms[c]
                      : self->activity->peak_to_peak[c];

            if (g_strcmp0 (own != NULL ? own : "", unit) != 0)
              other = TRUE;
            else if (isfinite (v))
              self->values[c] = v;
          }
        self->no_value = other ? _("other unit or no signal")
                               : _("no signal");
      }
      break;

    case IMP_ARRAY_MEASURE_ACCESS:
    default:
      break;
    }

  /* The scale: from zero for rates, otherwise over what is there,
   * logarithmic when that spans more than LOG_RATIO. */
  self->n_without = 0;
  for (guint c = 0; c < n; c++)
    {
      double v = self->values[c];

      if (!isfinite (v))
        {
          self->n_without++;
          continue;
        }
      if (!any)
        self->lo = self->hi = v;
      self->lo = MIN (self->lo, v);
      self->hi = MAX (self->hi, v);
      any = TRUE;
    }
  if (self->measure == IMP_ARRAY_MEASURE_FIRING_RATE)
    self->lo = 0;
  else if (any && self->lo > 0 && self->hi / self->lo > LOG_RATIO)
    self->log_scale = TRUE;
  if (!(self->hi > self->lo))
    self->hi = self->lo + (self->lo != 0 ? fabs (self->lo) * 0.1 : 1);
  self->any = any;

  self->values_valid = TRUE;
}

static void
invalidate_values (ImpArrayView *self)
{
  self->values_valid = FALSE;
  gtk_widget_queue_draw (self->canvas);
}

/* Where @value lies on the scale, from 0 to 1. */
static double
scale_position (ImpArrayView *self,
                double        value)
{
  if (self->log_scale)
    return (log (value) - log (self->lo)) / (log (self->hi) - log (self->lo));
  return (value - self->lo) / (self->hi - self->lo);
}

/* The colour of @channel's cell: its class or its level, as an index
 * into the colours of cell_color(). */
static guint
cell_level (ImpArrayView *self,
            guint         channel)
{
  double v;

  if (self->measure == IMP_ARRAY_MEASURE_ACCESS)
    return access_class (channel_access (self, channel));

  v = self->values[channel];
  if (!isfinite (v))
    return N_LEVELS;
  return MIN (N_LEVELS - 1,
              (guint) floor (CLAMP (scale_position (self, v), 0, 1) *
                             N_LEVELS));
}

static void
level_color (ImpArrayView *self,
             guint         level,
             GdkRGBA      *rgba)
{
  if (self->measure == IMP_ARRAY_MEASURE_ACCESS)
    rgb_to_rgba (access_classes[level].rgb, rgba);
  else if (level >= N_LEVELS)
    rgb_to_rgba (NO_VALUE_RGB, rgba);
  else
    ramp_color ((level + 0.5) / N_LEVELS, rgba);
}

static guint
n_levels (ImpArrayView *self)
{
  return self->measure == IMP_ARRAY_MEASURE_ACCESS
         ? G_N_ELEMENTS (access_classes) : N_LEVELS + 1;
}

/* A value with about three significant digits, in @unit. */
static char *
format_value (double      value,
              const char *unit)
{
  g_autofree char *number = NULL;

  if (!isfinite (value))
    return g_strdup ("—");
  if (value == 0)
    number = g_strdup ("0");
  else if (fabs (value) < 0.01)
    number = g_strdup_printf ("%.2g", value);
  else if (fabs (value) < 10)
    number = g_strdup_printf ("%.2f", value);
  else if (fabs (value) < 100)
    number = g_strdup_printf ("%.1f", value);
  else
    number = g_strdup_printf ("%.0f", value);

  return unit != NULL && *unit != '\0'
         ? g_strdup_printf ("%s %s", number, unit)
         : g_steal_pointer (&number);
}

/* Activity, measured in a worker */

typedef struct
{
  ImpRecording *recording;
  gint64        first;
  gint64        n;
} MeasureJob;

static void
measure_job_free (gpointer data)
{
  MeasureJob *job = data;

  imp_recording_unref (job->recording);
  g_free (job);
}

static void
measure_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  MeasureJob *job = task_data;
  g_autoptr(GError) error = NULL;
  ImpActivity *activity;

  activity = imp_activity_measure (job->recording, job->first, job->n,
                                   MAX_PER_CHANNEL, cancellable, &error);
  if (activity == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, activity,
                           (GDestroyNotify) imp_activity_free);
}

static void
measure_done_cb (GObject      *source_object,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  ImpArrayView *self = IMP_ARRAY_VIEW (source_object);
  g_autoptr(GError) error = NULL;
  ImpActivity *activity;

  activity = g_task_propagate_pointer (G_TASK (res), &error);

  /* Superseded, or the view is going. */
  if (g_task_get_cancellable (G_TASK (res)) != self->cancellable)
    {
      g_clear_pointer (&activity, imp_activity_free);
      return;
    }
  g_clear_object (&self->cancellable);

  g_clear_pointer (&self->activity_error, g_free);
  if (activity == NULL)
    {
      g_debug ("Could not measure the activity: %s", error->message);
      self->activity_error = g_strdup (error->message);
    }
  else
    {
      g_clear_pointer (&self->activity, imp_activity_free);
      self->activity = activity;
    }

  invalidate_values (self);
}

static gboolean
measure_timeout_cb (gpointer data)
{
  ImpArrayView *self = data;
  g_autoptr(GTask) task = NULL;
  MeasureJob *job;

  self->measure_id = 0;
  if (self->recording == NULL)
    return G_SOURCE_REMOVE;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  job = g_new0 (MeasureJob, 1);
  job->recording = imp_recording_ref (self->recording);
  job->first = self->want_first;
  job->n = self->want_n;

  task = g_task_new (self, self->cancellable, measure_done_cb, NULL);
  g_task_set_source_tag (task, measure_timeout_cb);
  g_task_set_task_data (task, job, measure_job_free);
  g_task_run_in_thread (task, measure_worker);

  gtk_widget_queue_draw (self->canvas);
  return G_SOURCE_REMOVE;
}

/* Measures the activity of the time in focus, a moment after it stops
 * moving, when it is shown and not measured already. */
static void
imp_array_view_schedule_measure (ImpArrayView *self)
{
  gint64 first, n;

  if (self->recording == NULL || !is_activity (self->measure) ||
      !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;

  wanted_window (self, &first, &n);
  if (first == self->want_first && n == self->want_n &&
      (self->activity != NULL || self->cancellable != NULL ||
       self->activity_error != NULL || self->measure_id != 0))
    return;

  self->want_first = first;
  self->want_n = n;
  g_clear_handle_id (&self->measure_id, g_source_remove);
  self->measure_id = g_timeout_add (MEASURE_DELAY, measure_timeout_cb, self);
  gtk_widget_queue_draw (self->canvas);
}

static void
imp_array_view_cancel_measure (ImpArrayView *self)
{
  g_clear_handle_id (&self->measure_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
}

static gboolean
measuring (ImpArrayView *self)
{
  return self->measure_id != 0 || self->cancellable != NULL;
}

/* Geometry */

/* The legend's height: a title line, up to four access classes or the
 * source, ramp, labels and grey of a scale, and the line for the Traces
 * outline. */
static double
legend_height (ImpArrayView *self)
{
  return 6 * LEGEND_LINE + PAD;
}

static void
update_transform (ImpArrayView *self)
{
  double width = gtk_widget_get_width (self->canvas) - 2 * PAD;
  double height = gtk_widget_get_height (self->canvas) - 2 * PAD -
                  legend_height (self);
  double x0, y0, x1, y1;

  self->scale = 1;
  self->tx = self->ty = PAD;
  if (self->layout == NULL || width <= 0 || height <= 0)
    return;

  imp_array_layout_get_bounds (self->layout, &x0, &y0, &x1, &y1);
  self->scale = MIN (width / MAX (x1 - x0, 1e-9),
                     height / MAX (y1 - y0, 1e-9));
  self->tx = PAD + (width - (x1 - x0) * self->scale) / 2 - x0 * self->scale;
  self->ty = PAD - y0 * self->scale;
}

/* @channel's cell in canvas pixels, snapped to whole pixels. */
static void
cell_rect (ImpArrayView *self,
           guint         channel,
           double       *left,
           double       *top,
           double       *right,
           double       *bottom)
{
  double half = imp_array_layout_get_pitch (self->layout) / 2;
  double x, y;

  imp_array_layout_get_centre (self->layout, channel, &x, &y);
  *left = round (self->tx + (x - half) * self->scale);
  *right = round (self->tx + (x + half) * self->scale);
  *top = round (self->ty + (y - half) * self->scale);
  *bottom = round (self->ty + (y + half) * self->scale);
}

static double
cell_gap (ImpArrayView *self)
{
  return imp_array_layout_get_pitch (self->layout) * self->scale >= 6 ? 1 : 0;
}

static int
channel_at (ImpArrayView *self,
            double        x,
            double        y)
{
  if (self->layout == NULL)
    return -1;

  update_transform (self);
  return imp_array_layout_channel_at (self->layout,
                                      (x - self->tx) / self->scale,
                                      (y - self->ty) / self->scale);
}

/* Drawing */

typedef struct
{
  GdkRGBA fg;
  GdkRGBA bg;
  GdkRGBA accent;
} Palette;

static void
get_palette (ImpArrayView *self,
             Palette      *palette)
{
  GtkStyleContext *context = gtk_widget_get_style_context (self->canvas);

  gtk_style_context_get_color (context, &palette->fg);
  if (!gtk_style_context_lookup_color (context, "view_bg_color",
                                       &palette->bg))
    gdk_rgba_parse (&palette->bg, "#ffffff");
  if (!gtk_style_context_lookup_color (context, "accent_color",
                                       &palette->accent))
    gdk_rgba_parse (&palette->accent, "#1c71d8");
}

static void
draw_cells (ImpArrayView *self,
            cairo_t      *cr)
{
  guint n = n_channels (self);
  guint levels = n_levels (self);
  g_autofree guint *level = g_new (guint, MAX (n, 1));
  double gap = cell_gap (self);

  for (guint c = 0; c < n; c++)
    level[c] = cell_level (self, c);

  /* One fill per colour, not per cell. */
  for (guint l = 0; l < levels; l++)
    {
      GdkRGBA color;
      gboolean any = FALSE;

      for (guint c = 0; c < n; c++)
        {
          double left, top, right, bottom;

          if (level[c] != l)
            continue;
          cell_rect (self, c, &left, &top, &right, &bottom);
          cairo_rectangle (cr, left, top, MAX (1, right - left - gap),
                           MAX (1, bottom - top - gap));
          any = TRUE;
        }
      if (!any)
        continue;
      level_color (self, l, &color);
      gdk_cairo_set_source_rgba (cr, &color);
      cairo_fill (cr);
    }
}

/* Where the legend starts: right below the array. */
static double
legend_top (ImpArrayView *self)
{
  double x0, y0, x1, y1;

  imp_array_layout_get_bounds (self->layout, &x0, &y0, &x1, &y1);
  return round (self->ty + y1 * self->scale) + PAD;
}

/* Black or white, whichever reads better on @color. */
static void
contrast_color (const GdkRGBA *color,
                GdkRGBA       *text)
{
  double luminance = 0.2126 * color->red + 0.7152 * color->green +
                     0.0722 * color->blue;

  if (luminance > 0.5)
    gdk_rgba_parse (text, "rgba(0,0,0,0.8)");
  else
    gdk_rgba_parse (text, "rgba(255,255,255,0.9)");
}

/* The electrodes' names in their cells, when every name fits. */
static void
draw_cell_labels (ImpArrayView *self,
                  cairo_t      *cr)
{
  g_autoptr(PangoLayout) layout = imp_plot_layout_new (self->canvas, 0.75);
  double size = imp_array_layout_get_pitch (self->layout) * self->scale;
  double widest = 0;

  if (size < 28)
    return;

  for (guint c = 0; c < n_channels (self); c++)
    {
      double w, h;

      imp_plot_text_size (layout, channel_label (self, c), &w, &h);
      widest = MAX (widest, w);
    }
  if (widest > size - 4)
    return;

  for (guint c = 0; c < n_channels (self); c++)
    {
      double left, top, right, bottom;
      GdkRGBA color, text;

      level_color (self, cell_level (self, c), &color);
      contrast_color (&color, &text);
      cell_rect (self, c, &left, &top, &right, &bottom);
      gdk_cairo_set_source_rgba (cr, &text);
      imp_plot_text (cr, layout, channel_label (self, c), (left + right) / 2,
                     (top + bottom) / 2, 0.5, 0.5);
    }
}

/* Dims the electrodes that are not chosen, when some are. */
static void
draw_veil (ImpArrayView  *self,
           cairo_t       *cr,
           const Palette *palette)
{
  guint n_chosen;
  double gap = cell_gap (self);

  imp_session_get_channels (self->session, &n_chosen);
  if (n_chosen == 0)
    return;

  for (guint c = 0; c < n_channels (self); c++)
    {
      double left, top, right, bottom;

      if (imp_session_is_chosen (self->session, c))
        continue;
      cell_rect (self, c, &left, &top, &right, &bottom);
      cairo_rectangle (cr, left, top, MAX (1, right - left - gap),
                       MAX (1, bottom - top - gap));
    }
  imp_plot_set_source (cr, &palette->bg, 0.5);
  cairo_fill (cr);
}

static void
update_shown (ImpArrayView *self)
{
  const guint *shown;
  guint n_shown;

  g_clear_pointer (&self->shown, g_free);
  self->shown = g_new0 (gboolean, MAX (n_channels (self), 1));
  if (self->recording == NULL)
    return;

  shown = imp_session_get_shown_channels (self->session, &n_shown);
  for (guint i = 0; i < n_shown; i++)
    if (shown[i] < n_channels (self))
      self->shown[shown[i]] = TRUE;
}

/* The outline of the electrodes the Traces view shows: around each group
 * of neighbours on a grid, around each electrode otherwise. */
static void
draw_shown (ImpArrayView  *self,
            cairo_t       *cr,
            const Palette *palette)
{
  static const int sides[4][2] = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } };
  gboolean any = FALSE;

  for (guint c = 0; c < n_channels (self); c++)
    {
      double left, top, right, bottom;

      if (!self->shown[c])
        continue;
      cell_rect (self, c, &left, &top, &right, &bottom);
      any = TRUE;

      for (guint s = 0; s < 4; s++)
        {
          int next = imp_array_layout_neighbour (self->layout, c,
                                                 sides[s][0], sides[s][1]);

          if (next >= 0 && self->shown[next])
            continue;
          switch (s)
            {
            case 0:
              cairo_move_to (cr, left, top);
              cairo_line_to (cr, left, bottom);
              break;
            case 1:
              cairo_move_to (cr, right, top);
              cairo_line_to (cr, right, bottom);
              break;
            case 2:
              cairo_move_to (cr, left, top);
              cairo_line_to (cr, right, top);
              break;
            default:
              cairo_move_to (cr, left, bottom);
              cairo_line_to (cr, right, bottom);
              break;
            }
        }
    }
  if (!any)
    return;

  /* A light rim under the accent keeps it visible on any cell colour. */
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_SQUARE);
  cairo_set_line_width (cr, 3.5);
  imp_plot_set_source (cr, &palette->bg, 0.9);
  cairo_stroke_preserve (cr);
  cairo_set_line_width (cr, 2);
  imp_plot_set_source (cr, &palette->accent, 1.0);
  cairo_stroke (cr);
}

static void
draw_hover (ImpArrayView  *self,
            cairo_t       *cr,
            const Palette *palette)
{
  double left, top, right, bottom;

  if (self->hover < 0 || (guint) self->hover >= n_channels (self))
    return;

  cell_rect (self, self->hover, &left, &top, &right, &bottom);
  cairo_rectangle (cr, left - 1.5, top - 1.5, right - left + 3,
                   bottom - top + 3);
  cairo_set_line_width (cr, 1.5);
  imp_plot_set_source (cr, &palette->fg, 0.95);
  cairo_stroke (cr);
}

/* The electrode the arrow keys have reached, while the keys are here. */
static void
draw_key_cell (ImpArrayView  *self,
               cairo_t       *cr,
               const Palette *palette)
{
  static const double dashes[] = { 3, 2 };
  double left, top, right, bottom;

  if (self->key_cell < 0 || (guint) self->key_cell >= n_channels (self) ||
      !gtk_widget_has_focus (self->canvas))
    return;

  cell_rect (self, self->key_cell, &left, &top, &right, &bottom);
  cairo_rectangle (cr, left - 2.5, top - 2.5, right - left + 5,
                   bottom - top + 5);
  cairo_set_line_width (cr, 2);
  cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  imp_plot_set_source (cr, &palette->accent, 1.0);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

static void
draw_band (ImpArrayView  *self,
           cairo_t       *cr,
           const Palette *palette)
{
  double x, y, w, h;

  if (!self->banding)
    return;

  x = MIN (self->press_x, self->band_x);
  y = MIN (self->press_y, self->band_y);
  w = fabs (self->band_x - self->press_x);
  h = fabs (self->band_y - self->press_y);
  cairo_rectangle (cr, round (x) + 0.5, round (y) + 0.5, round (w),
                   round (h));
  imp_plot_set_source (cr, &palette->accent, 0.15);
  cairo_fill_preserve (cr);
  cairo_set_line_width (cr, 1);
  imp_plot_set_source (cr, &palette->accent, 0.9);
  cairo_stroke (cr);
}

/* The legend's entries, in the order drawn; the ramp's labels are its
 * last lines. */
static GPtrArray *
legend_lines (ImpArrayView *self)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  guint n = n_channels (self);

  update_values (self);

  if (self->measure == IMP_ARRAY_MEASURE_ACCESS)
    {
      memset (self->access_counts, 0, sizeof self->access_counts);
      for (guint c = 0; c < n; c++)
        self->access_counts[access_class (channel_access (self, c))]++;
      for (guint k = 0; k < G_N_ELEMENTS (access_classes); k++)
        g_ptr_array_add (lines, g_strdup_printf ("%s %u",
                                                 _(access_classes[k].name),
                                                 self->access_counts[k]));
      return lines;
    }

  g_ptr_array_add (lines, g_strdup (self->no_value));
  g_ptr_array_add (lines, format_value (self->any ? self->lo : NAN,
                                        self->unit));
  g_ptr_array_add (lines, format_value (self->any ? self->hi : NAN,
                                        self->unit));
  return lines;
}

/* The title above the legend: the measure, its unit and, for activity,
 * the time measured. */
static char *
legend_title (ImpArrayView *self)
{
  switch (self->measure)
    {
    case IMP_ARRAY_MEASURE_FIRING_RATE:
      return g_strdup_printf (_("Firing rate (%s)"), self->unit);

    case IMP_ARRAY_MEASURE_PEAK_TO_PEAK:
    case IMP_ARRAY_MEASURE_RMS:
      return g_strdup_printf ("%s (%s)", _(measure_names[self->measure]),
                              self->unit);

    case IMP_ARRAY_MEASURE_ACCESS:
    default:
      return g_strdup (self->result != NULL
                       ? _("Access, as the analysis found it")
                       : _("Access, as recorded"));
    }
}

/* Under the title: what the values come from. */
static char *
legend_source (ImpArrayView *self)
{
  double rate = imp_recording_get_sample_rate (self->recording);
  g_autofree char *window = NULL;
  const char *state = measuring (self) ? _(", measuring…") : "";

  if (self->measure == IMP_ARRAY_MEASURE_FIRING_RATE)
    {
      g_autofree char *seconds = format_value (
        imp_recording_get_duration (self->recording), "s");

      return g_strdup_printf (_("APs detected in the %s recorded"), seconds);
    }

  if (self->activity_error != NULL)
    return g_strdup_printf (_("Could not measure: %s"),
                            self->activity_error);
  if (self->activity == NULL)
    return g_strdup (_("Measuring the time shown in Traces…"));

  window = g_strdup_printf ("%.2f–%.2f s",
                            self->activity->first_sample / rate,
                            (self->activity->first_sample +
                             self->activity->n_samples) / rate);
  if (self->activity->n_measured < self->activity->n_samples)
    return g_strdup_printf (_("%s, sampled: %.0f %% of it%s"), window,
                            100.0 * self->activity->n_measured /
                            self->activity->n_samples, state);
  return g_strdup_printf (_("%s as in Traces%s"), window, state);
}

static void
draw_swatch (cairo_t       *cr,
             const GdkRGBA *color,
             double         x,
             double         y)
{
  cairo_rectangle (cr, x, round (y - SWATCH / 2), SWATCH, SWATCH);
  gdk_cairo_set_source_rgba (cr, color);
  cairo_fill (cr);
}

static void
draw_legend (ImpArrayView  *self,
             cairo_t       *cr,
             const Palette *palette,
             double         top)
{
  g_autoptr(PangoLayout) layout = imp_plot_layout_new (self->canvas, 0.85);
  g_autoptr(GPtrArray) lines = legend_lines (self);
  g_autofree char *title = legend_title (self);
  double width = gtk_widget_get_width (self->canvas);
  double y = top + LEGEND_LINE / 2;
  GdkRGBA color;

  imp_plot_set_source (cr, &palette->fg, 0.85);
  pango_layout_set_width (layout, (int) ((width - 2 * PAD) * PANGO_SCALE));
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  imp_plot_text (cr, layout, title, PAD, y, 0, 0.5);
  pango_layout_set_width (layout, (int) ((width - 2 * PAD - SWATCH - 6) *
                                         PANGO_SCALE));
  y += LEGEND_LINE;

  if (self->measure == IMP_ARRAY_MEASURE_ACCESS)
    {
      guint shown = 0;

      /* The classes there are, with how many electrodes each. */
      for (guint k = 0; k < lines->len; k++)
        {
          double x = PAD;
          double ly = y + shown * LEGEND_LINE;

          if (self->access_counts[k] == 0)
            continue;
          shown++;
          rgb_to_rgba (access_classes[k].rgb, &color);
          draw_swatch (cr, &color, x, ly);
          imp_plot_set_source (cr, &palette->fg, 0.8);
          imp_plot_text (cr, layout, lines->pdata[k], x + SWATCH + 6, ly, 0,
                         0.5);
        }
      y += shown * LEGEND_LINE;
    }
  else
    {
      double ramp_width = width - 2 * PAD;
      g_autofree char *source = legend_source (self);
      cairo_pattern_t *pattern;

      imp_plot_set_source (cr, &palette->fg, 0.55);
      pango_layout_set_width (layout, (int) ((width - 2 * PAD) *
                                             PANGO_SCALE));
      imp_plot_text (cr, layout, source, PAD, y - 2, 0, 0.5);
      y += LEGEND_LINE;

      /* The ramp with its two ends labelled. */
      pattern = cairo_pattern_create_linear (PAD, 0, PAD + ramp_width, 0);
      for (guint i = 0; i < G_N_ELEMENTS (ramp_stops); i++)
        {
          rgb_to_rgba (ramp_stops[i], &color);
          cairo_pattern_add_color_stop_rgb (pattern,
                                            i / (G_N_ELEMENTS (ramp_stops)
                                                 - 1.0),
                                            color.red, color.green,
                                            color.blue);
        }
      cairo_rectangle (cr, PAD, round (y - RAMP_HEIGHT / 2), ramp_width,
                       RAMP_HEIGHT);
      cairo_set_source (cr, pattern);
      cairo_fill (cr);
      cairo_pattern_destroy (pattern);
      y += LEGEND_LINE * 0.8;

      pango_layout_set_width (layout, -1);
      imp_plot_set_source (cr, &palette->fg, 0.8);
      imp_plot_text (cr, layout, lines->pdata[1], PAD, y, 0, 0.5);
      imp_plot_text (cr, layout, lines->pdata[2], width - PAD, y, 1, 0.5);
      if (self->log_scale)
        {
          imp_plot_set_source (cr, &palette->fg, 0.55);
          imp_plot_text (cr, layout, _("log scale"), width / 2, y, 0.5, 0.5);
        }
      y += LEGEND_LINE * 1.2;

      /* Grey, and why, when some electrode has no value. */
      if (self->n_without > 0)
        {
          g_autofree char *why = g_strdup_printf ("%s %u",
                                                  (char *) lines->pdata[0],
                                                  self->n_without);

          rgb_to_rgba (NO_VALUE_RGB, &color);
          draw_swatch (cr, &color, PAD, y);
          imp_plot_set_source (cr, &palette->fg, 0.8);
          pango_layout_set_width (layout, (int) ((width - 2 * PAD - SWATCH -
                                                  6) * PANGO_SCALE));
          imp_plot_text (cr, layout, why, PAD + SWATCH + 6, y, 0, 0.5);
          y += LEGEND_LINE;
        }
    }

  /* What the outline means. */
  cairo_rectangle (cr, PAD + 1, round (y - SWATCH / 2) + 1, SWATCH - 2,
                   SWATCH - 2);
  cairo_set_line_width (cr, 2);
  imp_plot_set_source (cr, &palette->accent, 1.0);
  cairo_stroke (cr);
  imp_plot_set_source (cr, &palette->fg, 0.8);
  pango_layout_set_width (layout, (int) ((width - 2 * PAD - SWATCH - 6) *
                                         PANGO_SCALE));
  imp_plot_text (cr, layout, _("shown in Traces"), PAD + SWATCH + 6, y, 0,
                 0.5);
}

static void
draw_cb (GtkDrawingArea *area,
         cairo_t        *cr,
         int             width,
         int             height,
         gpointer        user_data)
{
  ImpArrayView *self = user_data;
  Palette palette;

  if (self->layout == NULL || n_channels (self) == 0)
    return;

  get_palette (self, &palette);
  update_values (self);
  update_transform (self);

  draw_cells (self, cr);
  draw_cell_labels (self, cr);
  draw_veil (self, cr, &palette);
  draw_shown (self, cr, &palette);
  draw_hover (self, cr, &palette);
  draw_key_cell (self, cr, &palette);
  draw_band (self, cr, &palette);
  draw_legend (self, cr, &palette, legend_top (self));
}

/* Choosing */

static void
update_status (ImpArrayView *self)
{
  g_autofree char *text = NULL;
  guint n_chosen = 0;

  imp_session_get_channels (self->session, &n_chosen);
  if (n_chosen == 0)
    text = g_strdup (_("Click or drag to choose"));
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%u electrode chosen",
                                         "%u electrodes chosen", n_chosen),
                            n_chosen);
  gtk_label_set_text (GTK_LABEL (self->status), text);
  gtk_widget_set_sensitive (self->clear_button, n_chosen > 0);
}

/* Chooses @picked: alone, added with Shift, or toggled with Ctrl. */
static void
choose (ImpArrayView    *self,
        GArray          *picked,
        GdkModifierType  state)
{
  g_autoptr(GArray) result = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n = n_channels (self);
  g_autofree gboolean *in = g_new0 (gboolean, MAX (n, 1));
  g_autofree gboolean *pick = g_new0 (gboolean, MAX (n, 1));

  for (guint i = 0; i < picked->len; i++)
    pick[g_array_index (picked, guint, i)] = TRUE;

  for (guint c = 0; c < n; c++)
    {
      gboolean chosen = imp_session_is_chosen (self->session, c);

      if (state & GDK_CONTROL_MASK)
        in[c] = chosen != pick[c];
      else if (state & GDK_SHIFT_MASK)
        in[c] = chosen || pick[c];
      else
        in[c] = pick[c];
      if (in[c])
        g_array_append_val (result, c);
    }

  imp_session_set_channels (self->session, (guint *) result->data,
                            result->len);
}

/* The electrodes whose centres lie in the rectangle between two canvas
 * points. */
static GArray *
channels_in (ImpArrayView *self,
             double        x0,
             double        y0,
             double        x1,
             double        y1)
{
  GArray *picked = g_array_new (FALSE, FALSE, sizeof (guint));
  double left, right, top, bottom;

  update_transform (self);
  left = (MIN (x0, x1) - self->tx) / self->scale;
  right = (MAX (x0, x1) - self->tx) / self->scale;
  top = (MIN (y0, y1) - self->ty) / self->scale;
  bottom = (MAX (y0, y1) - self->ty) / self->scale;

  for (guint c = 0; c < n_channels (self); c++)
    {
      double x, y;

      imp_array_layout_get_centre (self->layout, c, &x, &y);
      if (x >= left && x <= right && y >= top && y <= bottom)
        g_array_append_val (picked, c);
    }

  return picked;
}

/* A drag from the press to (@x, @y) chooses the electrodes inside. */
static void
finish_band (ImpArrayView    *self,
             double           x,
             double           y,
             GdkModifierType  state)
{
  g_autoptr(GArray) picked = NULL;

  if (self->layout == NULL)
    return;

  picked = channels_in (self, self->press_x, self->press_y, x, y);
  choose (self, picked, state);
}

/* A click chooses one electrode, or nothing when beside them. */
static void
click (ImpArrayView    *self,
       double           x,
       double           y,
       GdkModifierType  state)
{
  g_autoptr(GArray) picked = NULL;
  int channel;

  if (self->layout == NULL)
    return;

  channel = channel_at (self, x, y);
  picked = g_array_new (FALSE, FALSE, sizeof (guint));
  if (channel >= 0)
    g_array_append_val (picked, channel);
  else if (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK))
    return;
  choose (self, picked, state);
}

static void
clear_clicked_cb (ImpArrayView *self)
{
  imp_session_set_channels (self->session, NULL, 0);
}

/* Input */

static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            ImpArrayView    *self)
{
  int channel;

  gtk_widget_grab_focus (self->canvas);
  self->press_x = x;
  self->press_y = y;
  self->banding = FALSE;

  /* A double click shows the electrode in the Traces view. */
  if (n_press == 2 && (channel = channel_at (self, x, y)) >= 0)
    {
      guint c = channel;

      imp_session_set_channels (self->session, &c, 1);
      gtk_widget_activate_action (GTK_WIDGET (self), "win.show-view", "s",
                                  "traces");
    }
}

static void
released_cb (GtkGestureClick *gesture,
             int              n_press,
             double           x,
             double           y,
             ImpArrayView    *self)
{
  GdkModifierType state;

  /* A press that moved is the drag's to finish. */
  if (n_press != 1 || self->banding ||
      hypot (x - self->press_x, y - self->press_y) > CLICK_SLOP)
    return;

  state = gtk_event_controller_get_current_event_state (
            GTK_EVENT_CONTROLLER (gesture));
  click (self, x, y, state);
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                ImpArrayView   *self)
{
  if (!self->banding && hypot (dx, dy) <= CLICK_SLOP)
    return;

  self->banding = TRUE;
  self->band_x = self->press_x + dx;
  self->band_y = self->press_y + dy;
  gtk_widget_queue_draw (self->canvas);
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             ImpArrayView   *self)
{
  GdkModifierType state;

  if (!self->banding)
    return;

  state = gtk_event_controller_get_current_event_state (
            GTK_EVENT_CONTROLLER (gesture));
  self->banding = FALSE;
  finish_band (self, self->press_x + dx, self->press_y + dy, state);
  gtk_widget_queue_draw (self->canvas);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               ImpArrayView   *self)
{
  self->press_x = x;
  self->press_y = y;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           ImpArrayView             *self)
{
  int hover = channel_at (self, x, y);

  if (hover == self->hover)
    return;

  self->hover = hover;
  gtk_widget_queue_draw (self->canvas);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          ImpArrayView             *self)
{
  self->hover = -1;
  gtk_widget_queue_draw (self->canvas);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                ImpArrayView          *self)
{
  g_autoptr(GArray) picked = NULL;
  const guint *chosen;
  guint n_chosen;
  int dx = 0;
  int dy = 0;

  if (self->layout == NULL || n_channels (self) == 0)
    return FALSE;

  chosen = imp_session_get_channels (self->session, &n_chosen);
  switch (keyval)
    {
    case GDK_KEY_Escape:
      if (n_chosen == 0)
        return FALSE;
      imp_session_set_channels (self->session, NULL, 0);
      return TRUE;

    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      dx = -1;
      break;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      dx = 1;
      break;
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      dy = -1;
      break;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      dy = 1;
      break;

    /* Space toggles the electrode, Enter chooses it alone (or adds it,
     * with Shift), as a click with Ctrl or without would. */
    case GDK_KEY_space:
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
      if (self->key_cell < 0)
        return FALSE;
      picked = g_array_new (FALSE, FALSE, sizeof (guint));
      g_array_append_val (picked, self->key_cell);
      choose (self, picked, keyval == GDK_KEY_space ? GDK_CONTROL_MASK
                            : state & GDK_SHIFT_MASK);
      return TRUE;

    default:
      return FALSE;
    }

  /* The first arrow starts at the first chosen electrode. */
  if (self->key_cell < 0 || (guint) self->key_cell >= n_channels (self))
    self->key_cell = n_chosen > 0 ? (int) chosen[0] : 0;
  else
    {
      int next = imp_array_layout_neighbour (self->layout, self->key_cell,
                                             dx, dy);

      /* Off a grid, in channel order, a square's side a row. */
      if (next == -2)
        {
          int side = (int) ceil (sqrt (n_channels (self)));

          next = self->key_cell + dx + dy * side;
          if (next < 0 || (guint) next >= n_channels (self))
            next = -1;
        }
      if (next >= 0)
        self->key_cell = next;
    }

  gtk_widget_queue_draw (self->canvas);
  return TRUE;
}

static char *
tooltip_markup (ImpArrayView *self,
                guint         channel)
{
  g_autofree char *label = NULL;
  g_autofree char *where = NULL;
  g_autofree char *value = NULL;
  ImpAccess access = channel_access (self, channel);

  label = g_markup_escape_text (channel_label (self, channel), -1);
  where = imp_array_layout_describe (self->layout, channel);
  if (imp_array_layout_is_placed (self->layout, channel))
    {
      double x, y;
      g_autofree char *grid = g_steal_pointer (&where);
      guint row, column;

      imp_array_layout_get_centre (self->layout, channel, &x, &y);
      where = imp_array_layout_get_grid (self->layout, channel, &row, &column)
              ? g_strdup_printf (_("%s · x %g, y %g µm"), grid, x, y)
              : g_steal_pointer (&grid);
    }

  update_values (self);
  if (self->measure == IMP_ARRAY_MEASURE_ACCESS)
    value = g_strdup_printf (_("Access: %s"),
                             _(access_classes[access_class (access)].name));
  else if (isfinite (self->values[channel]))
    {
      g_autofree char *number = format_value (self->values[channel],
                                              self->unit);

      value = g_strdup_printf ("%s: %s", _(measure_names[self->measure]),
                               number);
    }
  else if (is_activity (self->measure) && self->activity != NULL &&
           channel < self->activity->n_channels)
    {
      const ImpChannel *info = imp_recording_get_channel (self->recording,
                                                          channel);
      double own = self->measure == IMP_ARRAY_MEASURE_RMS
                   ? self->activity->rms[channel]
                   : self->activity->peak_to_peak[channel];
      g_autofree char *number = format_value (own, info->unit);

      value = g_strdup_printf ("%s: %s", _(measure_names[self->measure]),
                               number);
    }
  else
    value = g_strdup_printf ("%s: %s", _(measure_names[self->measure]),
                             self->no_value);

  return g_strdup_printf ("<b>%s</b>\n%s\n%s", label, where, value);
}

static gboolean
query_tooltip_cb (GtkWidget    *widget,
                  int           x,
                  int           y,
                  gboolean      keyboard,
                  GtkTooltip   *tooltip,
                  ImpArrayView *self)
{
  g_autofree char *markup = NULL;
  int channel;

  if (self->layout == NULL)
    return FALSE;

  channel = keyboard ? self->key_cell : channel_at (self, x, y);
  if (channel < 0)
    return FALSE;

  markup = tooltip_markup (self, channel);
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
measure_selected_cb (ImpArrayView *self)
{
  guint selected = gtk_drop_down_get_selected (GTK_DROP_DOWN (self->dropdown));

  if (selected < G_N_ELEMENTS (measure_names))
    imp_array_view_set_measure (self, selected);
}

/* Session */

static void
recording_changed_cb (ImpArrayView *self)
{
  ImpRecording *recording = imp_session_get_recording (self->session);

  imp_array_view_cancel_measure (self);
  g_clear_pointer (&self->activity, imp_activity_free);
  g_clear_pointer (&self->activity_error, g_free);
  self->want_first = self->want_n = 0;

  g_clear_pointer (&self->recording, imp_recording_unref);
  g_clear_pointer (&self->layout, imp_array_layout_free);
  if (recording != NULL)
    {
      self->recording = imp_recording_ref (recording);
      self->layout = imp_array_layout_new (recording);
    }
  self->hover = -1;
  self->key_cell = -1;

  update_shown (self);
  update_status (self);
  invalidate_values (self);
  imp_array_view_schedule_measure (self);
}

static void
result_changed_cb (ImpArrayView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  if (result != NULL)
    self->result = imp_analysis_result_ref (result);
  invalidate_values (self);
}

static void
channels_changed_cb (ImpArrayView *self)
{
  update_status (self);
  gtk_widget_queue_draw (self->canvas);
}

static void
shown_changed_cb (ImpArrayView *self)
{
  update_shown (self);
  gtk_widget_queue_draw (self->canvas);
}

static void
focus_changed_cb (ImpArrayView *self)
{
  imp_array_view_schedule_measure (self);
}

static void
map_cb (ImpArrayView *self)
{
  imp_array_view_schedule_measure (self);
}

/* GObject */

static void
imp_array_view_constructed (GObject *object)
{
  ImpArrayView *self = IMP_ARRAY_VIEW (object);

  G_OBJECT_CLASS (imp_array_view_parent_class)->constructed (object);

  g_return_if_fail (IMP_IS_SESSION (self->session));

  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (recording_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::result",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::analyzing",
                           G_CALLBACK (invalidate_values), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::channels",
                           G_CALLBACK (channels_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::shown-channels",
                           G_CALLBACK (shown_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::focus",
                           G_CALLBACK (focus_changed_cb), self,
                           G_CONNECT_SWAPPED);

  recording_changed_cb (self);
  result_changed_cb (self);
}

static void
imp_array_view_dispose (GObject *object)
{
  ImpArrayView *self = IMP_ARRAY_VIEW (object);

  imp_array_view_cancel_measure (self);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (imp_array_view_parent_class)->dispose (object);
}

static void
imp_array_view_finalize (GObject *object)
{
  ImpArrayView *self = IMP_ARRAY_VIEW (object);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  g_clear_pointer (&self->recording, imp_recording_unref);
  g_clear_pointer (&self->layout, imp_array_layout_free);
  g_clear_pointer (&self->activity, imp_activity_free);
  g_clear_pointer (&self->activity_error, g_free);
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->unit, g_free);
  g_clear_pointer (&self->shown, g_free);

  G_OBJECT_CLASS (imp_array_view_parent_class)->finalize (object);
}

static void
imp_array_view_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ImpArrayView *self = IMP_ARRAY_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    case PROP_MEASURE:
      g_value_set_int (value, self->measure);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_array_view_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ImpArrayView *self = IMP_ARRAY_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;

    case PROP_MEASURE:
      imp_array_view_set_measure (self, g_value_get_int (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_array_view_class_init (ImpArrayViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = imp_array_view_constructed;
  object_class->dispose = imp_array_view_dispose;
  object_class->finalize = imp_array_view_finalize;
  object_class->get_property = imp_array_view_get_property;
  object_class->set_property = imp_array_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  properties[PROP_MEASURE] =
    g_param_spec_int ("measure", NULL, NULL,
                      IMP_ARRAY_MEASURE_ACCESS, IMP_ARRAY_MEASURE_RMS,
                      IMP_ARRAY_MEASURE_ACCESS,
                      (G_PARAM_READWRITE |
                       G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class,
                                            GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "arrayview");
}

static GtkWidget *
create_header (ImpArrayView *self)
{
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label;
  const char *names[G_N_ELEMENTS (measure_names) + 1];

  for (guint i = 0; i < G_N_ELEMENTS (measure_names); i++)
    names[i] = _(measure_names[i]);
  names[G_N_ELEMENTS (measure_names)] = NULL;

  gtk_widget_add_css_class (header, "toolbar");
  label = gtk_label_new_with_mnemonic (_("Co_lour by"));
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (header), label);

  self->dropdown = gtk_drop_down_new_from_strings (names);
  gtk_widget_set_hexpand (self->dropdown, TRUE);
  gtk_widget_set_tooltip_text (self->dropdown,
                               _("What the colour of an electrode shows"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), self->dropdown);
  g_signal_connect_object (self->dropdown, "notify::selected",
                           G_CALLBACK (measure_selected_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (header), self->dropdown);

  return header;
}

static GtkWidget *
create_footer (ImpArrayView *self)
{
  GtkWidget *footer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_widget_add_css_class (footer, "toolbar");
  self->status = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->status), 0);
  gtk_label_set_ellipsize (GTK_LABEL (self->status), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (self->status, TRUE);
  gtk_widget_add_css_class (self->status, "dim-label");
  gtk_widget_add_css_class (self->status, "caption");
  gtk_box_append (GTK_BOX (footer), self->status);

  self->clear_button = gtk_button_new_with_mnemonic (_("C_lear"));
  gtk_widget_set_tooltip_text (self->clear_button,
                               _("Show the default channels in Traces "
                                 "(Esc)"));
  g_signal_connect_object (self->clear_button, "clicked",
                           G_CALLBACK (clear_clicked_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (footer), self->clear_button);

  return footer;
}

static void
imp_array_view_init (ImpArrayView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->hover = -1;
  self->key_cell = -1;
  self->scale = 1;

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
  gtk_box_append (GTK_BOX (self->box), create_header (self));

  self->canvas = gtk_drawing_area_new ();
  gtk_widget_set_vexpand (self->canvas, TRUE);
  gtk_widget_set_focusable (self->canvas, TRUE);
  gtk_widget_set_has_tooltip (self->canvas, TRUE);
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (self->canvas), 200);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->canvas), 260);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->canvas), draw_cb,
                                  self, NULL);
  g_signal_connect (self->canvas, "query-tooltip",
                    G_CALLBACK (query_tooltip_cb), self);
  gtk_box_append (GTK_BOX (self->box), self->canvas);

  gtk_box_append (GTK_BOX (self->box), create_footer (self));

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed",
                    G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (controller, "enter",
                            G_CALLBACK (gtk_widget_queue_draw), self->canvas);
  g_signal_connect_swapped (controller, "leave",
                            G_CALLBACK (gtk_widget_queue_draw), self->canvas);
  gtk_widget_add_controller (self->canvas, controller);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture),
                                 GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (pressed_cb), self);
  g_signal_connect (gesture, "released", G_CALLBACK (released_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update",
                    G_CALLBACK (drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  g_signal_connect (self, "map", G_CALLBACK (map_cb), NULL);
}

/**
 * imp_array_view_new:
 * @session: the window's session
 *
 * Returns: (transfer floating): the array overview
 */
GtkWidget *
imp_array_view_new (ImpSession *session)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), NULL);

  return g_object_new (IMP_TYPE_ARRAY_VIEW, "session", session, NULL);
}

/**
 * imp_array_view_get_measure:
 * @self: a #ImpArrayView
 *
 * Returns: what the electrodes' colours show
 */
ImpArrayMeasure
imp_array_view_get_measure (ImpArrayView *self)
{
  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), IMP_ARRAY_MEASURE_ACCESS);

  return self->measure;
}

/**
 * imp_array_view_set_measure:
 * @self: a #ImpArrayView
 * @measure: what the electrodes' colours show
 *
 * Colours the electrodes by @measure. Activity is measured over the
 * session's focus in a worker; the colours follow when it is done.
 */
void
imp_array_view_set_measure (ImpArrayView    *self,
                            ImpArrayMeasure  measure)
{
  g_return_if_fail (IMP_IS_ARRAY_VIEW (self));
  g_return_if_fail (measure <= IMP_ARRAY_MEASURE_RMS);

  if (measure == self->measure)
    return;

  self->measure = measure;
  if (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->dropdown)) != measure)
    gtk_drop_down_set_selected (GTK_DROP_DOWN (self->dropdown), measure);
  invalidate_values (self);
  imp_array_view_schedule_measure (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MEASURE]);
}

/* For tests */

GtkWidget *
_imp_array_view_get_canvas (ImpArrayView *self)
{
  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), NULL);

  return self->canvas;
}

gboolean
_imp_array_view_to_canvas (ImpArrayView *self,
                           double        x,
                           double        y,
                           double       *canvas_x,
                           double       *canvas_y)
{
  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), FALSE);

  if (self->layout == NULL)
    return FALSE;

  update_transform (self);
  *canvas_x = x * self->scale + self->tx;
  *canvas_y = y * self->scale + self->ty;
  return TRUE;
}

void
_imp_array_view_drag (ImpArrayView    *self,
                      double           x0,
                      double           y0,
                      double           x1,
                      double           y1,
                      GdkModifierType  state)
{
  g_return_if_fail (IMP_IS_ARRAY_VIEW (self));

  self->press_x = x0;
  self->press_y = y0;
  if (hypot (x1 - x0, y1 - y0) > CLICK_SLOP)
    finish_band (self, x1, y1, state);
  else
    click (self, x1, y1, state);
}

double
_imp_array_view_get_value (ImpArrayView *self,
                           guint         channel)
{
  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), NAN);
  g_return_val_if_fail (channel < n_channels (self), NAN);

  update_values (self);
  return self->values[channel];
}

gboolean
_imp_array_view_is_measuring (ImpArrayView *self)
{
  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), FALSE);

  return measuring (self);
}

char *
_imp_array_view_get_tooltip (ImpArrayView *self,
                             double        x,
                             double        y)
{
  int channel;

  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), NULL);

  channel = channel_at (self, x, y);
  return channel >= 0 ? tooltip_markup (self, channel) : NULL;
}

void
_imp_array_view_draw (ImpArrayView *self,
                      cairo_t      *cr)
{
  g_return_if_fail (IMP_IS_ARRAY_VIEW (self));

  draw_cb (GTK_DRAWING_AREA (self->canvas), cr,
           gtk_widget_get_width (self->canvas),
           gtk_widget_get_height (self->canvas), self);
}

char *
_imp_array_view_get_legend (ImpArrayView *self)
{
  g_autoptr(GPtrArray) lines = NULL;
  g_autofree char *title = NULL;
  GString *text;

  g_return_val_if_fail (IMP_IS_ARRAY_VIEW (self), NULL);

  if (self->recording == NULL)
    return g_strdup ("");

  lines = legend_lines (self);
  title = legend_title (self);
  text = g_string_new (title);
  if (self->measure != IMP_ARRAY_MEASURE_ACCESS)
    {
      g_autofree char *source = legend_source (self);

      g_string_append_printf (text, "\n%s", source);
    }
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (text, "\n%s", (char *) lines->pdata[i]);
  return g_string_free (text, FALSE);
}
