/* imp-traces-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gi18n.h>

#include "imp-activity.h"
#include "imp-array-layout.h"
#include "imp-detect.h"
#include "imp-raster.h"
#include "imp-snapshot-area.h"
#include "imp-texture-pool.h"
#include "imp-trace-cache.h"
#include "imp-traces-view-private.h"

/* Layout, in pixels. */
#define GUTTER_WIDTH   104
#define AXIS_HEIGHT    30
#define SWEEP_HEIGHT   20
#define TOP_PAD        6
#define RIGHT_PAD      30   /* room for the amplitude scale bar */
#define MIN_ROW_HEIGHT 56
#define BASELINE_FRAC  0.6   /* where a channel's baseline sits in its row */
#define MIN_FIT_RANGE  4.0   /* smallest range fitted to a row, in units */
#define MIN_SWEEP_GAP  8     /* closest sweep separators, in pixels */
#define SPLIT_RATIO    3.0   /* channels of one unit whose ranges differ
                              * more than this get scales of their own */
#define PREVIEW_ALPHA  0.35  /* traces not yet exact are drawn lighter */
#define TRACE_ALPHA    0.85

#define FETCH_BUDGET_US 8000

#define INITIAL_SPAN_S 5.0
#define MAX_OVERLAY    200   /* sweeps drawn on one another */
#define MAX_PX_PER_SAMPLE 16.0

/* What the traces' pixels depend on besides the rows: the texture drawn
 * for one is shown again until it changes. */
typedef struct
{
  gconstpointer cache;
  guint64       generation;
  double        t0;
  double        span;
  double        value;          /* the first visible row, fractional */
  double        row_height;
  double        line_width;     /* in widget pixels */
  int           width;          /* of the texture, in device pixels */
  int           height;
  int           scale;
  guint         level;
  guint         first_row;
  guint         end_row;
  gint64        c0;
  gint64        c1;
  guint32       exact_color;
  guint32       preview_color;
} FrameKey;

/* A visible row as drawn. */
typedef struct
{
  guint    channel;
  gboolean have;                /* columns with a value, so a baseline */
  double   baseline;
  double   gain;                /* pixels per unit */
} RowInfo;

/* What the amplitude scales are fitted to, until the fit is final or the
 * user scales them. */
typedef enum
{
  IMP_FIT_NONE,
  IMP_FIT_RECORDING,   /* each channel's range over the whole recording */
  IMP_FIT_VISIBLE,     /* the visible range, in full */
  IMP_FIT_POST,        /* the postsynaptic channel's subthreshold range */
} ImpFit;

struct _ImpTracesView
{
  GtkWidget          parent_instance;

  ImpSession        *session;
  ImpRecording      *recording;
  ImpAnalysisResult *result;

  GtkWidget         *canvas;
  GtkWidget         *scrollbar;
  GtkAdjustment     *vadj;

  /* what is shown */
  double             t0;            /* first visible sample */
  double             span;          /* visible samples */
  guint             *order;         /* row -> channel */

  /* amplitude: the channels of one unit share a scale, so that one scale
   * bar per unit is true of all of them */
  guint             *group;         /* channel -> unit group */
  char             **group_unit;    /* group -> unit */
  double            *group_gain;    /* group -> row heights per unit, so
                                     * that traces grow with their rows */
  guint              n_groups;
  ImpFit             fit;
  gboolean           user_scaled;
  int                pre;
  int                post;

  /* what was read, and the analysis's APs per channel */
  ImpTraceCache     *cache;
  char              *read_error;    /* why reading stopped, or NULL */
  guint              tick_id;

  /* the traces as last drawn, and the buffers they are drawn into */
  ImpTexturePool    *pool;
  GdkTexture        *texture;
  FrameKey           frame_key;
  GArray            *frame_rows;    /* RowInfo of the visible rows */

  /* input */
  double             pointer_x;
  double             pointer_y;
  gboolean           hover;
  double             drag_t0;
  double             drag_rows;
  double             zoom_span;
  double             zoom_anchor;

  /* rows: order[0 .. n_rows) are the channels shown, the selected pair
   * first, then the channels chosen in the session (or all) */
  guint              n_rows;
  ImpArrayLayout    *layout;        /* where each electrode is */
  int                focus_channel; /* clicked, for the keys; or -1 */
  int                mark_channel;  /* the event last stepped to */
  gint64             mark_sample;
  GArray            *evoked;        /* ImpEvoked of the selected pair */
  gboolean           overlay;       /* sweeps on one another */
  gint64             overlay_start; /* the start of the sweep in view
                                     * when they were overlaid */
};

G_DEFINE_FINAL_TYPE (ImpTracesView, imp_traces_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_OVERLAY_SWEEPS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void imp_traces_view_queue_update (ImpTracesView *self);
static void imp_traces_view_publish      (ImpTracesView *self);
static void imp_traces_view_update_order (ImpTracesView *self);
static gint64 extent_samples             (ImpTracesView *self);
static gboolean overlaid                 (ImpTracesView *self);
static gboolean imp_traces_view_fetch_overlaid (ImpTracesView *self);
static int current_channel               (ImpTracesView *self);

/* Geometry */

static double
trace_width (ImpTracesView *self)
{
  return MAX (1, gtk_widget_get_width (self->canvas) -
                 GUTTER_WIDTH - RIGHT_PAD);
}

static double
trace_top (ImpTracesView *self)
{
  if (self->recording != NULL &&
      imp_recording_get_n_sweeps (self->recording) > 1)
    return SWEEP_HEIGHT;
  return TOP_PAD;
}

static double
trace_height (ImpTracesView *self)
{
  return MAX (1, gtk_widget_get_height (self->canvas) -
                 trace_top (self) - AXIS_HEIGHT);
}

static guint
n_channels (ImpTracesView *self)
{
  if (self->recording == NULL)
    return 0;
  return imp_recording_get_n_channels (self->recording);
}

/* The rows, which are fewer than the channels when some are chosen. */
static guint
n_rows (ImpTracesView *self)
{
  return MIN (self->n_rows, n_channels (self));
}

static guint
rows_per_page (ImpTracesView *self)
{
  guint n = n_rows (self);
  guint rows = (guint) (trace_height (self) / MIN_ROW_HEIGHT);

  return CLAMP (rows, 1, MAX (n, 1));
}

static double
row_height (ImpTracesView *self)
{
  return trace_height (self) / rows_per_page (self);
}

static double
samples_per_pixel (ImpTracesView *self)
{
  return self->span / trace_width (self);
}

static double
sample_to_x (ImpTracesView *self,
             double         sample)
{
  return GUTTER_WIDTH + (sample - self->t0) / samples_per_pixel (self);
}

static double
x_to_sample (ImpTracesView *self,
             double         x)
{
  return self->t0 + (x - GUTTER_WIDTH) * samples_per_pixel (self);
}

/* View changes */

static void
imp_traces_view_clamp (ImpTracesView *self)
{
  double n_samples;
  double min_span;

  if (self->recording == NULL)
    return;

  n_samples = extent_samples (self);
  min_span = MAX (4, trace_width (self) / MAX_PX_PER_SAMPLE);

  self->span = CLAMP (self->span, min_span, MAX (min_span, n_samples));
  self->t0 = CLAMP (self->t0, 0, MAX (0, n_samples - self->span));
}

static void
imp_traces_view_set_view (ImpTracesView *self,
                          double         t0,
                          double         span)
{
  self->t0 = t0;
  self->span = span;
  imp_traces_view_clamp (self);
  imp_traces_view_queue_update (self);
}

static void
imp_traces_view_zoom (ImpTracesView *self,
                      double         factor,
                      double         anchor_x)
{
  double anchor = x_to_sample (self, anchor_x);
  double span = self->span * factor;
  double t0;

  t0 = anchor - (anchor_x - GUTTER_WIDTH) * span / trace_width (self);
  imp_traces_view_set_view (self, t0, span);
}

static void
imp_traces_view_pan (ImpTracesView *self,
                     double         samples)
{
  imp_traces_view_set_view (self, self->t0 + samples, self->span);
}

static void
imp_traces_view_scale_gain (ImpTracesView *self,
                            double         factor)
{
  self->fit = IMP_FIT_NONE;
  self->user_scaled = TRUE;
  for (guint g = 0; g < self->n_groups; g++)
    self->group_gain[g] = CLAMP (self->group_gain[g] * factor, 1e-6, 1e6);
  gtk_widget_queue_draw (self->canvas);
}

/* Pixels per unit of @channel's row. */
static double
channel_gain (ImpTracesView *self,
              guint          channel)
{
  if (self->group == NULL || channel >= n_channels (self))
    return 1;

  return self->group_gain[self->group[channel]] * row_height (self);
}

static void
imp_traces_view_scroll_rows (ImpTracesView *self,
                             double         rows)
{
  gtk_adjustment_set_value (self->vadj,
                            gtk_adjustment_get_value (self->vadj) + rows);
}

static void
imp_traces_view_update_adjustment (ImpTracesView *self)
{
  guint n = n_rows (self);
  guint page = rows_per_page (self);

  gtk_adjustment_configure (self->vadj,
                            gtk_adjustment_get_value (self->vadj),
                            0, MAX (n, 1), 1, MAX (1, page - 1), page);
  gtk_widget_set_visible (self->scrollbar, n > page);
}

/* Cache */

static gint64
column_width (ImpTracesView *self)
{
  return G_GINT64_CONSTANT (1) << imp_trace_cache_get_level (self->cache);
}

static GArray *
ap_samples (ImpTracesView *self,
            int            channel)
{
  if (self->cache == NULL || channel < 0)
    return NULL;

  return imp_trace_cache_get_ap_samples (self->cache, channel);
}

/* Visible rows [*first_row, *end_row) and level columns [*c0, *c1). */
static void
imp_traces_view_visible (ImpTracesView *self,
                         guint         *first_row,
                         guint         *end_row,
                         gint64        *c0,
                         gint64        *c1)
{
  double value = gtk_adjustment_get_value (self->vadj);
  gint64 n_samples = imp_recording_get_n_samples (self->recording);
  gint64 spc = column_width (self);
  double end = MIN (self->t0 + self->span, n_samples);

  *first_row = (guint) MAX (0, floor (value));
  *end_row = MIN (n_rows (self),
                  (guint) ceil (value + rows_per_page (self)));
  *c0 = MAX (0, (gint64) floor (self->t0 / spc) - 1);
  *c1 = MIN ((n_samples + spc - 1) / spc, (gint64) ceil (end / spc) + 1);
}

/* Gives the visible columns a value for at most @budget_us, and has
 * the cache's worker make them exact. Returns TRUE when every visible
 * column has a value. */
static gboolean
imp_traces_view_fetch (ImpTracesView *self,
                       gint64         budget_us)
{
  g_autoptr(GError) error = NULL;
  guint first_row, end_row;
  gint64 c0, c1;
  gboolean complete;
  guint level;

  if (self->cache == NULL || self->read_error != NULL)
    return TRUE;

  /* Columns for the screen's pixels, which may be finer than the
   * widget's. */
  level = imp_trace_cache_level_for (samples_per_pixel (self) /
                                     gtk_widget_get_scale_factor (
                                       self->canvas));
  imp_trace_cache_set_level (self->cache, level);

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  if (end_row <= first_row)
    return TRUE;

  if (!imp_trace_cache_fetch (self->cache, self->order + first_row,
                              end_row - first_row, c0, c1,
                              g_get_monotonic_time () + budget_us,
                              &complete, &error))
    {
      /* Shown on the traces, once; the view stays usable. */
      g_debug ("Failed to read the recording: %s", error->message);
      self->read_error = g_strdup (error->message);
      return TRUE;
    }

  imp_trace_cache_refine (self->cache, self->order + first_row,
                          end_row - first_row, c0, c1);

  return complete;
}

/* Whether every visible column holds its exact range. */
static gboolean
imp_traces_view_exact (ImpTracesView *self)
{
  guint first_row, end_row;
  gint64 c0, c1;

  if (self->cache == NULL)
    return TRUE;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  return imp_trace_cache_is_exact (self->cache, self->order + first_row,
                                   end_row - first_row, c0, c1);
}

/* Statistics of what is shown */

static int
compare_double (const void *a,
                const void *b)
{
  double da = *(const double *) a;
  double db = *(const double *) b;

  return (da > db) - (da < db);
}

/* The channel's baseline (the median of a sample from each column, which
 * spikes in wide columns do not shift) and its extent above and below
 * it, over the visible columns that have a value. A robust extent leaves
 * out the brief peaks (action potentials) of the top and bottom 2 % of
 * columns. */
static gboolean
imp_traces_view_channel_stats (ImpTracesView *self,
                               guint          channel,
                               gboolean       robust,
                               double        *baseline,
                               double        *above,
                               double        *below)
{
  guint first_row, end_row;
  gint64 c0, c1;
  gboolean extent = above != NULL && below != NULL;
  g_autoptr(GArray) mids = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr(GArray) mins = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr(GArray) maxs = g_array_new (FALSE, FALSE, sizeof (float));
  g_autofree float *lo = NULL;
  g_autofree float *hi = NULL;
  g_autofree float *mid = NULL;
  guint n;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  if (c1 <= c0)
    return FALSE;

  n = c1 - c0;
  lo = g_new (float, n);
  hi = g_new (float, n);
  mid = g_new (float, n);
  imp_trace_cache_get_columns (self->cache, channel, c0, n, lo, hi, mid,
                               NULL);

  for (guint k = 0; k < n; k++)
    {
      if (isnan (lo[k]))
        continue;

      if (!isnan (mid[k]))
        g_array_append_val (mids, mid[k]);
      /* Only a fit needs the extremes; the baseline, drawn every frame,
       * does not. */
      if (extent)
        {
          g_array_append_val (mins, lo[k]);
          g_array_append_val (maxs, hi[k]);
        }
    }

  return imp_trace_cache_summarise (mids, mins, maxs, robust ? 0.02 : 0.0,
                                    baseline, extent ? above : NULL,
                                    extent ? below : NULL);
}

static double
fit_gain_to (double height,
             double above,
             double below)
{
  /* Noise alone should not fill a row. */
  above = MAX (above, BASELINE_FRAC * MIN_FIT_RANGE);
  below = MAX (below, (1 - BASELINE_FRAC) * MIN_FIT_RANGE);

  return MIN ((BASELINE_FRAC * height - 4) / above,
              ((1 - BASELINE_FRAC) * height - 4) / below);
}

/* A gain for @channel's row, in row heights per unit: from its range
 * over the whole recording, or over the visible columns. FALSE while that
 * is not known. */
static gboolean
imp_traces_view_channel_gain (ImpTracesView *self,
                              guint          channel,
                              gboolean       recording,
                              double        *gain)
{
  double baseline, above, below;
  gboolean known;

  if (recording)
    known = imp_trace_cache_get_extent (self->cache, channel,
                                        &baseline, &above, &below);
  else
    known = imp_traces_view_channel_stats (self, channel, FALSE,
                                           &baseline, &above, &below);

  if (!known)
    return FALSE;

  *gain = fit_gain_to (row_height (self), above, below) / row_height (self);
  return *gain > 0;
}

/* The channel's access as the analysis found it, or as recorded. */
static ImpAccess
channel_access (ImpTracesView *self,
                guint          channel)
{
  const ImpChannel *info = imp_recording_get_channel (self->recording,
                                                      channel);

  if (self->result != NULL && channel < self->result->n_channels &&
      self->result->access != NULL)
    return self->result->access[channel];

  return info->access;
}

static gboolean
without_access (ImpTracesView *self,
                guint          channel)
{
  ImpAccess access = channel_access (self, channel);

  return access == IMP_ACCESS_EXTRACELLULAR || access == IMP_ACCESS_NONE;
}

/* Unit groups */

static void
imp_traces_view_clear_groups (ImpTracesView *self)
{
  g_clear_pointer (&self->group, g_free);
  g_clear_pointer (&self->group_unit, g_strfreev);
  g_clear_pointer (&self->group_gain, g_free);
  self->n_groups = 0;
}

typedef struct
{
  const guint  *unit_of;
  const double *gains;
} GroupOrder;

static int
compare_for_groups (gconstpointer a,
                    gconstpointer b,
                    gpointer      user_data)
{
  const GroupOrder *order = user_data;
  guint ca = *(const guint *) a;
  guint cb = *(const guint *) b;

  if (order->unit_of[ca] != order->unit_of[cb])
    return order->unit_of[ca] < order->unit_of[cb] ? -1 : 1;
  if (order->gains != NULL && order->gains[ca] != order->gains[cb])
    return order->gains[ca] < order->gains[cb] ? -1 : 1;
  return (ca > cb) - (ca < cb);
}

/* The gain at which three channels in four of a group fit their rows. */
static double
group_gain_of (GArray *gains)
{
  qsort (gains->data, gains->len, sizeof (double), compare_double);
  return g_array_index (gains, double, gains->len / 4);
}

/* Groups the channels by unit and, once their @gains are known, by range
 * within a unit: a channel that would need more than SPLIT_RATIO times the
 * gain of the widest-ranging channel of its group starts a group of its
 * own, so that a quiet channel is not drawn flat at the scale of a loud
 * one. Each group has one gain and one scale bar. */
/* Closes a group: its gain from the @members that have access, or from
 * all when none has. */
static void
close_group (GArray *group_gains,
             GArray *members,
             GArray *all)
{
  double gain;

  if (all->len == 0)
    return;

  gain = group_gain_of (members->len > 0 ? members : all);
  g_array_append_val (group_gains, gain);
  g_array_set_size (members, 0);
  g_array_set_size (all, 0);
}

static void
imp_traces_view_make_groups (ImpTracesView *self,
                             const double  *gains)
{
  guint n = n_channels (self);
  g_autoptr(GPtrArray) units = g_ptr_array_new ();
  g_autoptr(GPtrArray) group_units = g_ptr_array_new ();
  g_autoptr(GArray) group_gains = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) members = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree guint *unit_of = g_new0 (guint, MAX (n, 1));
  g_autofree guint *sorted = g_new0 (guint, MAX (n, 1));
  g_autofree double *effective = NULL;
  GroupOrder order = { unit_of, NULL };
  double first_gain = 0;

  for (guint c = 0; c < n; c++)
    {
      const ImpChannel *info = imp_recording_get_channel (self->recording, c);
      const char *unit = info->unit != NULL ? info->unit : "";
      guint u;

      for (u = 0; u < units->len; u++)
        if (g_str_equal (g_ptr_array_index (units, u), unit))
          break;
      if (u == units->len)
        g_ptr_array_add (units, (gpointer) unit);
      unit_of[c] = u;
      sorted[c] = c;
    }

  /* A channel without access shows only noise: it joins the first group
   * of its unit rather than have its noise fill the row. */
  if (gains != NULL)
    {
      effective = g_new (double, MAX (n, 1));
      for (guint c = 0; c < n; c++)
        effective[c] = without_access (self, c) ? 0 : gains[c];
      order.gains = effective;
    }
  g_qsort_with_data (sorted, n, sizeof (guint), compare_for_groups, &order);

  imp_traces_view_clear_groups (self);
  self->group = g_new0 (guint, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      guint c = sorted[i];
      double gain = effective != NULL ? effective[c] : 1;
      double own = gains != NULL ? gains[c] : 1;

      if (i == 0 || unit_of[c] != unit_of[sorted[i - 1]] ||
          (first_gain > 0 && gain > SPLIT_RATIO * first_gain))
        {
          close_group (group_gains, members, all);
          g_ptr_array_add (group_units, units->pdata[unit_of[c]]);
          first_gain = gain;
        }
      else if (first_gain == 0)
        first_gain = gain;

      self->group[c] = group_units->len - 1;
      g_array_append_val (all, own);
      if (gain > 0)
        g_array_append_val (members, own);
    }
  close_group (group_gains, members, all);

  self->n_groups = group_units->len;
  self->group_unit = g_new0 (char *, self->n_groups + 1);
  self->group_gain = g_new (double, MAX (self->n_groups, 1));
  for (guint g = 0; g < self->n_groups; g++)
    {
      self->group_unit[g] = g_strdup (group_units->pdata[g]);
      self->group_gain[g] = g_array_index (group_gains, double, g);
    }
}

/* Over the whole recording: every channel's gain from its range, and
 * groups made again from them; FALSE while some range is not known.
 * Otherwise: the scale of every group with a visible row fitted to three
 * channels in four of its visible rows. */
static gboolean
imp_traces_view_fit_groups (ImpTracesView *self,
                            gboolean       recording)
{
  guint first_row, end_row;
  gint64 c0, c1;
  guint n = n_channels (self);

  if (recording)
    {
      g_autofree double *gains = g_new (double, MAX (n, 1));

      for (guint c = 0; c < n; c++)
        if (!imp_traces_view_channel_gain (self, c, TRUE, &gains[c]))
          return FALSE;

      imp_traces_view_make_groups (self, gains);
      return TRUE;
    }

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);

  for (guint g = 0; g < self->n_groups; g++)
    {
      g_autoptr(GArray) gains = g_array_new (FALSE, FALSE, sizeof (double));

      for (guint row = first_row; row < end_row; row++)
        {
          guint channel = self->order[row];
          double gain;

          if (self->group[channel] == g &&
              imp_traces_view_channel_gain (self, channel, FALSE, &gain))
            g_array_append_val (gains, gain);
        }

      if (gains->len > 0)
        self->group_gain[g] = group_gain_of (gains);
    }

  return TRUE;
}

/* Moves @channel into a group of its own, with its group's gain. */
static void
imp_traces_view_isolate (ImpTracesView *self,
                         guint          channel)
{
  guint g = self->group[channel];
  guint n = self->n_groups;
  guint members = 0;

  for (guint c = 0; c < n_channels (self); c++)
    if (self->group[c] == g)
      members++;
  if (members < 2)
    return;

  self->group_unit = g_renew (char *, self->group_unit, n + 2);
  self->group_unit[n] = g_strdup (self->group_unit[g]);
  self->group_unit[n + 1] = NULL;
  self->group_gain = g_renew (double, self->group_gain, n + 1);
  self->group_gain[n] = self->group_gain[g];
  self->group[channel] = n;
  self->n_groups = n + 1;
}

/* The postsynaptic channel scaled so that its subthreshold activity fills
 * its row. It gets a scale (and scale bar) of its own for that, so the
 * presynaptic APs and the other channels keep theirs. */
static void
imp_traces_view_fit_post (ImpTracesView *self)
{
  double baseline, above, below, gain;

  if (self->post < 0)
    return;

  if (imp_traces_view_channel_stats (self, self->post, TRUE,
                                     &baseline, &above, &below) &&
      (gain = fit_gain_to (row_height (self), above, below)) > 0)
    {
      imp_traces_view_isolate (self, self->post);
      self->group_gain[self->group[self->post]] = gain / row_height (self);
    }
}

/* Applies the fit asked for; it is final once what it is fitted to is
 * exact, and the scales then stay put. */
static void
imp_traces_view_update_fit (ImpTracesView *self)
{
  gboolean fitted;
  gboolean exact;

  if (self->cache == NULL || self->fit == IMP_FIT_NONE)
    return;

  exact = imp_traces_view_exact (self);

  switch (self->fit)
    {
    case IMP_FIT_RECORDING:
      /* Until the overview is in, fit what is visible. */
      if (imp_traces_view_fit_groups (self, TRUE))
        self->fit = IMP_FIT_NONE;
      else
        imp_traces_view_fit_groups (self, FALSE);
      break;

    case IMP_FIT_VISIBLE:
      imp_traces_view_fit_groups (self, FALSE);
      if (exact)
        self->fit = IMP_FIT_NONE;
      break;

    case IMP_FIT_POST:
      /* The other channels keep the scales of the whole recording: while
       * its overview is not in yet, those are still to come, and so is the
       * end of this fit. */
      fitted = self->user_scaled || imp_traces_view_fit_groups (self, TRUE);
      imp_traces_view_fit_post (self);
      if (exact && fitted)
        self->fit = IMP_FIT_NONE;
      break;

    case IMP_FIT_NONE:
    default:
      break;
    }
}

static gboolean
fetch_tick_cb (GtkWidget     *widget,
               GdkFrameClock *frame_clock,
               gpointer       user_data)
{
  ImpTracesView *self = user_data;
  gboolean complete;

  /* Nothing to fit into yet; the first allocation queues an update. */
  if (gtk_widget_get_width (self->canvas) <= GUTTER_WIDTH + RIGHT_PAD ||
      gtk_widget_get_height (self->canvas) <= AXIS_HEIGHT + SWEEP_HEIGHT)
    {
      self->tick_id = 0;
      return G_SOURCE_REMOVE;
    }

  complete = overlaid (self) ? imp_traces_view_fetch_overlaid (self)
                             : imp_traces_view_fetch (self, FETCH_BUDGET_US);
  imp_traces_view_update_fit (self);
  gtk_widget_queue_draw (self->canvas);

  if (complete)
    {
      self->tick_id = 0;
      return G_SOURCE_REMOVE;
    }

  return G_SOURCE_CONTINUE;
}

static void
imp_traces_view_queue_update (ImpTracesView *self)
{
  if (self->canvas == NULL)
    return;

  imp_traces_view_publish (self);
  gtk_widget_queue_draw (self->canvas);

  if (self->tick_id == 0 && self->recording != NULL)
    self->tick_id = gtk_widget_add_tick_callback (self->canvas,
                                                  fetch_tick_cb,
                                                  self, NULL);
}

/* Exact columns arrived from the cache's worker. */
static void
cache_notify_cb (gpointer user_data)
{
  imp_traces_view_queue_update (user_data);
}

/* Drawing */

typedef struct
{
  GdkRGBA fg;
  GdkRGBA bg;
  GdkRGBA accent;
  GdkRGBA ap;
  GdkRGBA excitatory;
  GdkRGBA inhibitory;
} Palette;

static void
lookup_color (GtkStyleContext *context,
              const char      *name,
              const char      *fallback,
              GdkRGBA         *color)
{
  if (!gtk_style_context_lookup_color (context, name, color))
    gdk_rgba_parse (color, fallback);
}

static void
imp_traces_view_palette (ImpTracesView *self,
                         Palette       *palette)
{
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));

  gtk_style_context_get_color (context, &palette->fg);
  lookup_color (context, "view_bg_color", "#ffffff", &palette->bg);
  lookup_color (context, "accent_color", "#1c71d8", &palette->accent);
  lookup_color (context, "imp_ap_color", "#e66100", &palette->ap);
  lookup_color (context, "imp_excitatory_color", "#c01c28",
                &palette->excitatory);
  lookup_color (context, "imp_inhibitory_color", "#1c71d8",
                &palette->inhibitory);
}

static void
set_source (cairo_t       *cr,
            const GdkRGBA *color,
            double         alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue,
                         color->alpha * alpha);
}

/* Draws @markup aligned on (@x, @y), kept inside the canvas. */
static void
draw_text (ImpTracesView *self,
           cairo_t       *cr,
           const char    *markup,
           double         x,
           double         y,
           double         xalign,
           double         yalign)
{
  g_autoptr(PangoLayout) layout = NULL;
  double canvas_width = gtk_widget_get_width (self->canvas);
  int width, height;
  double left;

  layout = gtk_widget_create_pango_layout (self->canvas, NULL);
  pango_layout_set_markup (layout, markup, -1);
  pango_layout_get_pixel_size (layout, &width, &height);

  left = x - xalign * width;
  left = MIN (left, canvas_width - width - 2);
  left = MAX (left, 2);

  cairo_move_to (cr, round (left), round (y - yalign * height));
  pango_cairo_show_layout (cr, layout);
}

/* A layout of @markup, ellipsized at the end to @max_width pixels. */
static PangoLayout *
create_clipped_layout (ImpTracesView *self,
                       const char    *markup,
                       int            max_width)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (self->canvas, NULL);

  pango_layout_set_markup (layout, markup, -1);
  /* Left-aligned like the other labels, whatever the script. */
  pango_layout_set_auto_dir (layout, FALSE);
  pango_layout_set_width (layout, MAX (max_width, 1) * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);

  return layout;
}

/* Draws @markup from (@x, @y), ellipsized to @max_width pixels. */
static void
draw_clipped_text (ImpTracesView *self,
                   cairo_t       *cr,
                   const char    *markup,
                   double         x,
                   double         y,
                   int            max_width)
{
  g_autoptr(PangoLayout) layout = NULL;

  layout = create_clipped_layout (self, markup, max_width);
  cairo_move_to (cr, round (x), round (y));
  pango_cairo_show_layout (cr, layout);
}

static void
text_size (ImpTracesView *self,
           const char    *markup,
           int           *width,
           int           *height)
{
  g_autoptr(PangoLayout) layout = NULL;

  layout = gtk_widget_create_pango_layout (self->canvas, NULL);
  pango_layout_set_markup (layout, markup, -1);
  pango_layout_get_pixel_size (layout, width, height);
}

/* 1, 2 or 5 times a power of ten, at least @raw. */
static double
nice_step (double raw)
{
  double magnitude = pow (10, floor (log10 (raw)));
  double norm = raw / magnitude;

  if (norm <= 1)
    return magnitude;
  if (norm <= 2)
    return 2 * magnitude;
  if (norm <= 5)
    return 5 * magnitude;
  return 10 * magnitude;
}

/* 1, 2 or 5 times a power of ten, at most @raw. */
static double
nice_floor (double raw)
{
  double magnitude = pow (10, floor (log10 (raw)));
  double norm = raw / magnitude;

  if (norm >= 5)
    return 5 * magnitude;
  if (norm >= 2)
    return 2 * magnitude;
  return magnitude;
}

/* Decimals that write multiples of @step exactly. */
static int
decimals_for (double step)
{
  return MAX (0, (int) ceil (-log10 (step) - 1e-9));
}

/**
 * _imp_traces_format_time:
 * @seconds: a tick's time
 * @step: the time between ticks
 * @range_end: the end of the visible range, in s
 *
 * Milliseconds only while every time shown is below a second; past it,
 * seconds with as many decimals as the step needs (59.52 s, not
 * 59520 ms).
 *
 * Returns: (transfer full): the tick's label
 */
char *
_imp_traces_format_time (double seconds,
                         double step,
                         double range_end)
{
  if (fabs (seconds) < 1e-6 * step)
    seconds = 0;

  if (step < 0.1 && range_end < 1)
    return g_strdup_printf ("%.*f ms", decimals_for (step * 1000),
                            seconds * 1000);

  return g_strdup_printf ("%.*f s", decimals_for (step), seconds);
}

/**
 * _imp_traces_format_cursor_time:
 * @seconds: the time under the pointer
 * @precision: the time one pixel spans, or one sample if more
 * @range_end: the end of the visible range, in s
 *
 * Returns: (transfer full): the time to about a pixel, in the unit of
 *   the axis
 */
char *
_imp_traces_format_cursor_time (double seconds,
                                double precision,
                                double range_end)
{
  if (range_end < 1)
    return g_strdup_printf ("%.*f ms",
                            CLAMP (decimals_for (precision * 1000), 0, 4),
                            seconds * 1000);

  return g_strdup_printf ("%.*f s", CLAMP (decimals_for (precision), 0, 6),
                          seconds);
}

static char *
format_span (double seconds)
{
  if (seconds >= 1)
    return g_strdup_printf ("%.3g s", seconds);
  if (seconds >= 1e-3)
    return g_strdup_printf ("%.3g ms", seconds * 1e3);
  return g_strdup_printf ("%.3g µs", seconds * 1e6);
}

static char *
format_amount (double      value,
               const char *unit)
{
  if (value >= 1)
    return g_strdup_printf ("%g %s", value, unit);
  return g_strdup_printf ("%.*f %s", decimals_for (value), value, unit);
}

/* Where draw_label_box() puts a box @width wide for @x. */
static double
label_box_left (ImpTracesView *self,
                int            width,
                double         x,
                gboolean       beside)
{
  double canvas_width = gtk_widget_get_width (self->canvas);
  double left;

  if (!beside)
    left = x - width / 2.0;
  else if (x + 8 + width < canvas_width - RIGHT_PAD)
    left = x + 8;
  else
    left = x - 8 - width;

  return CLAMP (left, 2, canvas_width - width - 6);
}

/* Text on a backdrop, centred on @x, or beside it (on the right if
 * there is room) when @beside. */
static void
draw_label_box (ImpTracesView *self,
                cairo_t       *cr,
                const Palette *palette,
                const char    *markup,
                double         x,
                double         y,
                gboolean       beside)
{
  g_autoptr(PangoLayout) layout = NULL;
  int width, height;
  double left;

  layout = gtk_widget_create_pango_layout (self->canvas, NULL);
  pango_layout_set_markup (layout, markup, -1);
  pango_layout_get_pixel_size (layout, &width, &height);
  left = label_box_left (self, width, x, beside);

  set_source (cr, &palette->bg, 1.0);
  cairo_rectangle (cr, round (left) - 4, round (y), width + 8, height + 2);
  cairo_fill (cr);
  set_source (cr, &palette->fg, 0.95);
  cairo_move_to (cr, round (left), round (y) + 1);
  pango_cairo_show_layout (cr, layout);
}

/* The time axis. Tick labels that would meet [@hole_left, @hole_right]
 * (where the cursor's time goes) are left out. */
static void
draw_time_axis (ImpTracesView *self,
                cairo_t       *cr,
                const Palette *palette,
                double         hole_left,
                double         hole_right)
{
  double rate = imp_recording_get_sample_rate (self->recording);
  double width = trace_width (self);
  double y = trace_top (self) + trace_height (self);
  double seconds_per_px = samples_per_pixel (self) / rate;
  double step = nice_step (110 * seconds_per_px);
  double start = self->t0 / rate;
  double end = (self->t0 + self->span) / rate;
  g_autofree char *span_text = NULL;
  g_autofree char *markup = NULL;

  set_source (cr, &palette->fg, 0.35);
  cairo_rectangle (cr, GUTTER_WIDTH, y, width, 1);
  cairo_fill (cr);

  for (double t = ceil (start / step) * step; t <= end; t += step)
    {
      double x = round (sample_to_x (self, t * rate)) + 0.5;
      g_autofree char *label = _imp_traces_format_time (t, step, end);
      g_autofree char *small = g_strdup_printf ("<small>%s</small>", label);
      int label_width, label_height;

      set_source (cr, &palette->fg, 0.35);
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x, y + 5);
      cairo_stroke (cr);

      text_size (self, small, &label_width, &label_height);
      if (x + label_width / 2.0 + 4 >= hole_left &&
          x - label_width / 2.0 - 4 <= hole_right)
        continue;

      set_source (cr, &palette->fg, 0.75);
      draw_text (self, cr, small, x, y + 6, 0.5, 0);
    }

  /* The visible span, below the channel labels. */
  span_text = format_span (end - start);
  markup = g_strdup_printf ("<small>↔ %s</small>", span_text);
  set_source (cr, &palette->fg, 0.55);
  draw_text (self, cr, markup, 10, y + 6, 0, 0);
}

/* A vertical bar in the right margin of a row of @group, its length
 * labelled along it, in the group's unit. */
static void
draw_scale_bar (ImpTracesView *self,
                cairo_t       *cr,
                const Palette *palette,
                guint          group,
                double         top,
                double         height)
{
  double gain = self->group_gain[group] * row_height (self);
  double value = nice_floor (MIN (0.55 * height, 100) / gain);
  double length = value * gain;
  double x = gtk_widget_get_width (self->canvas) - 6;
  double bottom = top + height - 6;
  g_autofree char *text = format_amount (value, self->group_unit[group]);
  g_autofree char *markup = g_strdup_printf ("<small>%s</small>", text);
  g_autoptr(PangoLayout) layout = NULL;
  int width, label_height;

  if (!(length >= 4))
    return;

  layout = gtk_widget_create_pango_layout (self->canvas, NULL);
  pango_layout_set_markup (layout, markup, -1);
  pango_layout_get_pixel_size (layout, &width, &label_height);

  set_source (cr, &palette->fg, 0.9);
  cairo_rectangle (cr, x - 2, round (bottom - length), 2, round (length));
  cairo_fill (cr);

  /* The label reads upwards, centred on the bar when it is long enough,
   * otherwise starting at its foot. */
  cairo_save (cr);
  cairo_translate (cr, x - 5 - label_height,
                   round (bottom - MAX (0, (length - width) / 2)));
  cairo_rotate (cr, -G_PI / 2);
  cairo_move_to (cr, 0, 0);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
}

/* The x of each sweep start to mark in view, leaving out those closer
 * than MIN_SWEEP_GAP to the last one marked: thousands of short sweeps
 * would otherwise grey the traces over. */
static GArray *
sweep_lines (ImpTracesView *self,
             gboolean      *thinned)
{
  GArray *xs = g_array_new (FALSE, FALSE, sizeof (double));
  guint n_sweeps = imp_recording_get_n_sweeps (self->recording);
  double right = GUTTER_WIDTH + trace_width (self);
  double last = -G_MAXDOUBLE;
  guint first;

  *thinned = FALSE;
  if (n_sweeps < 2)
    return xs;

  first = imp_recording_sweep_at (self->recording,
                                  (gint64) MAX (0, self->t0));
  for (guint i = MAX (first, 1); i < n_sweeps; i++)
    {
      const ImpSweep *sweep = imp_recording_get_sweep (self->recording, i);
      double x = round (sample_to_x (self, sweep->start_sample));

      if (x > right)
        break;
      if (x < GUTTER_WIDTH)
        continue;
      if (x - last < MIN_SWEEP_GAP)
        {
          *thinned = TRUE;
          continue;
        }

      g_array_append_val (xs, x);
      last = x;
    }

  return xs;
}

static void
draw_sweeps (ImpTracesView *self,
             cairo_t       *cr,
             const Palette *palette)
{
  guint n_sweeps = imp_recording_get_n_sweeps (self->recording);
  double top = trace_top (self);
  double right = GUTTER_WIDTH + trace_width (self);

  if (n_sweeps < 2)
    return;

  /* Label each sweep where it starts, or at the left edge; the lines are
   * drawn below the traces (snapshot_sweep_lines). */
  set_source (cr, &palette->fg, 0.6);
  for (guint i = imp_recording_sweep_at (self->recording,
                                         (gint64) MAX (0, self->t0));
       i < n_sweeps;
       i++)
    {
      const ImpSweep *sweep = imp_recording_get_sweep (self->recording, i);
      double x0 = sample_to_x (self, sweep->start_sample);
      double x1 = sample_to_x (self, sweep->start_sample + sweep->n_samples);
      g_autofree char *markup = NULL;

      if (x0 > right)
        break;

      x0 = MAX (x0, GUTTER_WIDTH);
      if (MIN (x1, right) - x0 < 60)
        continue;

      markup = g_strdup_printf (_("<small>Sweep %u</small>"), i + 1);
      draw_text (self, cr, markup, x0 + 5, top / 2, 0, 0.5);
    }
}

/* Traces, below the overlays: a texture drawn with imp-raster, over the
 * rows' backdrops, both as render nodes rather than through Cairo. */

static guint32
raster_color (const GdkRGBA *color,
              double         alpha)
{
  return imp_raster_color (color->red, color->green, color->blue,
                           color->alpha * alpha);
}

static void
append_rect (GtkSnapshot   *snapshot,
             const GdkRGBA *color,
             double         alpha,
             double         x,
             double         y,
             double         width,
             double         height)
{
  GdkRGBA faded = *color;

  faded.alpha *= alpha;
  gtk_snapshot_append_color (snapshot, &faded,
                             &GRAPHENE_RECT_INIT (x, y, width, height));
}

/* The visible rows' channels, baselines and gains, as drawn now. */
static void
imp_traces_view_update_rows (ImpTracesView *self,
                             guint          first_row,
                             guint          end_row,
                             GArray        *rows)
{
  g_array_set_size (rows, 0);

  for (guint row = first_row; row < end_row; row++)
    {
      RowInfo info;

      /* Compared byte for byte with the last frame's. */
      memset (&info, 0, sizeof info);
      info.channel = self->order[row];
      info.have = imp_traces_view_channel_stats (self, info.channel, FALSE,
                                                 &info.baseline, NULL, NULL);
      if (info.have)
        info.gain = channel_gain (self, info.channel);
      else
        info.baseline = 0;
      g_array_append_val (rows, info);
    }
}

/* The baseline of visible @row as its trace was drawn; FALSE when it has
 * no columns to draw. */
static gboolean
imp_traces_view_row_baseline (ImpTracesView *self,
                              guint          row,
                              double        *baseline)
{
  const FrameKey *key = &self->frame_key;

  if (self->frame_rows != NULL && row >= key->first_row &&
      row - key->first_row < self->frame_rows->len)
    {
      const RowInfo *info = &g_array_index (self->frame_rows, RowInfo,
                                            row - key->first_row);

      if (info->channel == self->order[row])
        {
          *baseline = info->baseline;
          return info->have;
        }
    }

  return imp_traces_view_channel_stats (self, self->order[row], FALSE,
                                        baseline, NULL, NULL);
}

static void
imp_traces_view_frame_key (ImpTracesView *self,
                           const Palette *palette,
                           FrameKey      *key)
{
  int scale = gtk_widget_get_scale_factor (self->canvas);

  /* Compared byte for byte with the last frame's. */
  memset (key, 0, sizeof *key);
  key->cache = self->cache;
  key->generation = imp_trace_cache_get_generation (self->cache);
  key->t0 = self->t0;
  key->span = self->span;
  key->value = gtk_adjustment_get_value (self->vadj);
  key->row_height = row_height (self);
  key->line_width = samples_per_pixel (self) < 1 ? 1.25 : 1.0;
  key->scale = scale;
  key->width = (int) ceil (trace_width (self) * scale);
  key->height = (int) ceil (trace_height (self) * scale);
  key->level = imp_trace_cache_get_level (self->cache);
  imp_traces_view_visible (self, &key->first_row, &key->end_row,
                           &key->c0, &key->c1);
  key->exact_color = raster_color (&palette->fg, TRACE_ALPHA);
  key->preview_color = raster_color (&palette->fg, PREVIEW_ALPHA);
}

/* Whether column @k goes into the pass of previews: those, and their
 * exact neighbours, so that the two passes join. */
static gboolean
in_preview_pass (const float    *mins,
                 const gboolean *exact,
                 guint           k,
                 guint           n)
{
  if (isnan (mins[k]))
    return FALSE;

  return !exact[k] ||
         (k > 0 && !isnan (mins[k - 1]) && !exact[k - 1]) ||
         (k + 1 < n && !isnan (mins[k + 1]) && !exact[k + 1]);
}

/* Draws one row's columns: the exact ones in the exact colour, over the
 * previews in a lighter one until the worker has replaced them. */
static void
draw_row_passes (ImpRasterImage *image,
                 ImpRasterTrace *trace,
                 const FrameKey *key,
                 const float    *mins,
                 const float    *maxs,
                 const gboolean *exact,
                 float          *pass_min,
                 float          *pass_max)
{
  guint n = trace->n_columns;
  gboolean previews = FALSE;

  for (guint k = 0; k < n && !previews; k++)
    previews = !isnan (mins[k]) && !exact[k];

  if (!previews)
    {
      trace->min = mins;
      trace->max = maxs;
      trace->color = key->exact_color;
      imp_raster_draw_trace (image, trace);
      return;
    }

  for (guint k = 0; k < n; k++)
    {
      gboolean in = in_preview_pass (mins, exact, k, n);

      pass_min[k] = in ? mins[k] : NAN;
      pass_max[k] = in ? maxs[k] : NAN;
    }
  trace->min = pass_min;
  trace->max = pass_max;
  trace->color = key->preview_color;
  imp_raster_draw_trace (image, trace);

  for (guint k = 0; k < n; k++)
    {
      pass_min[k] = exact[k] ? mins[k] : NAN;
      pass_max[k] = exact[k] ? maxs[k] : NAN;
    }
  trace->color = key->exact_color;
  imp_raster_draw_trace (image, trace);
}

/* The visible rows' traces, each in its band, as a texture of the trace
 * area in device pixels. */
static GdkTexture *
imp_traces_view_rasterise (ImpTracesView  *self,
                           const FrameKey *key,
                           GArray         *rows)
{
  gint64 spc = G_GINT64_CONSTANT (1) << key->level;
  double centre = spc > 1 ? spc / 2.0 : 0;
  double pixels_per_sample = key->scale / samples_per_pixel (self);
  guint n = key->c1 - key->c0;
  g_autofree float *mins = g_new (float, n);
  g_autofree float *maxs = g_new (float, n);
  g_autofree float *pass_min = g_new (float, n);
  g_autofree float *pass_max = g_new (float, n);
  g_autofree gboolean *exact = g_new (gboolean, n);
  ImpRasterTrace trace = { 0 };
  ImpRasterImage image;

  imp_texture_pool_begin (self->pool, key->width, key->height, &image);

  trace.n_columns = n;
  trace.x0 = (key->c0 * spc + centre - key->t0) * pixels_per_sample;
  trace.dx = spc * pixels_per_sample;
  trace.line_width = key->line_width * key->scale;
  trace.clip_left = 0;
  trace.clip_right = key->width;

  for (guint i = 0; i < rows->len; i++)
    {
      const RowInfo *info = &g_array_index (rows, RowInfo, i);
      double top = (key->first_row + i - key->value) * key->row_height;
      double base_y = top + BASELINE_FRAC * key->row_height;

      if (!info->have)
        continue;

      trace.clip_top = (int) round (top * key->scale);
      trace.clip_bottom = (int) round ((top + key->row_height) * key->scale);
      trace.scale = info->gain * key->scale;
      trace.offset = (base_y + info->baseline * info->gain) * key->scale;

      imp_trace_cache_get_columns (self->cache, info->channel, key->c0, n,
                                   mins, maxs, NULL, exact);
      draw_row_passes (&image, &trace, key, mins, maxs, exact,
                       pass_min, pass_max);
    }

  return imp_texture_pool_finish (self->pool, &image);
}

/* The traces' texture, drawn again only when something it shows has
 * changed: the pointer moving over it redraws the overlays alone. */
static void
snapshot_traces (ImpTracesView *self,
                 GtkSnapshot   *snapshot,
                 const Palette *palette)
{
  g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (RowInfo));
  FrameKey key;
  gboolean same;

  imp_traces_view_frame_key (self, palette, &key);
  imp_traces_view_update_rows (self, key.first_row, key.end_row, rows);

  same = self->texture != NULL && self->frame_rows != NULL &&
         memcmp (&key, &self->frame_key, sizeof key) == 0 &&
         rows->len == self->frame_rows->len &&
         memcmp (rows->data, self->frame_rows->data,
                 rows->len * sizeof (RowInfo)) == 0;

  self->frame_key = key;
  g_clear_pointer (&self->frame_rows, g_array_unref);
  self->frame_rows = g_steal_pointer (&rows);

  if (!same)
    {
      g_clear_object (&self->texture);
      if (key.end_row > key.first_row && key.c1 > key.c0 &&
          key.width > 0 && key.height > 0)
        self->texture = imp_traces_view_rasterise (self, &key,
                                                   self->frame_rows);
    }

  if (self->texture != NULL)
    gtk_snapshot_append_texture (snapshot, self->texture,
                                 &GRAPHENE_RECT_INIT (
                                   GUTTER_WIDTH, trace_top (self),
                                   (double) key.width / key.scale,
                                   (double) key.height / key.scale));
}

/* The sweep separators, lighter when they stand for more sweeps than
 * they show. */
static void
snapshot_sweep_lines (ImpTracesView *self,
                      GtkSnapshot   *snapshot,
                      const Palette *palette)
{
  double bottom = trace_top (self) + trace_height (self);
  g_autoptr(GArray) xs = NULL;
  gboolean thinned;

  if (imp_recording_get_n_sweeps (self->recording) < 2)
    return;

  xs = sweep_lines (self, &thinned);
  for (guint i = 0; i < xs->len; i++)
    append_rect (snapshot, &palette->fg, thinned ? 0.15 : 0.3,
                 g_array_index (xs, double, i), 2, 1, bottom - 2);
}

/* The selected pair's rows tinted, and a line below each row. */
static void
snapshot_row_backdrops (ImpTracesView *self,
                        GtkSnapshot   *snapshot,
                        const Palette *palette)
{
  guint first_row, end_row;
  gint64 c0, c1;
  double value = gtk_adjustment_get_value (self->vadj);
  double h = row_height (self);
  double area_top = trace_top (self);
  double width = GUTTER_WIDTH + trace_width (self) + RIGHT_PAD;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);

  gtk_snapshot_push_clip (snapshot,
                          &GRAPHENE_RECT_INIT (0, area_top, width,
                                               trace_height (self)));
  for (guint row = first_row; row < end_row; row++)
    {
      guint channel = self->order[row];
      double top = area_top + (row - value) * h;

      if ((int) channel == self->pre || (int) channel == self->post)
        append_rect (snapshot, &palette->accent, 0.08, 0, top, width, h);
      append_rect (snapshot, &palette->fg, 0.08,
                   0, round (top + h) - 1, width, 1);
    }
  gtk_snapshot_pop (snapshot);
}

static void
snapshot_below_cb (GtkWidget   *area,
                   GtkSnapshot *snapshot,
                   int          width,
                   int          height,
                   gpointer     user_data)
{
  ImpTracesView *self = user_data;
  Palette palette;

  if (self->recording == NULL || n_channels (self) == 0 ||
      self->cache == NULL)
    return;

  /* Overlaid sweeps draw their own traces, over the backdrops. */
  imp_traces_view_palette (self, &palette);
  if (!overlaid (self))
    snapshot_sweep_lines (self, snapshot, &palette);
  snapshot_row_backdrops (self, snapshot, &palette);
  if (!overlaid (self))
    snapshot_traces (self, snapshot, &palette);
}

/* Index of the first of the sorted @events at or after @sample. */
static guint
first_event_at (GArray *events,
                gint64  sample)
{
  return imp_detect_lower_bound ((const gint64 *) events->data, events->len,
                                 sample);
}

static void
draw_events (ImpTracesView *self,
             cairo_t       *cr,
             const Palette *palette,
             guint          channel,
             double         top,
             double         height)
{
  GArray *aps;
  GArray *psps;
  gint64 start = (gint64) floor (self->t0);
  gint64 end = (gint64) ceil (self->t0 + self->span);

  if (self->result == NULL || self->result->n_channels != n_channels (self))
    return;

  /* PSPs: short ticks at the foot of the row, by sign. A channel without
   * intracellular access has no PSPs to speak of; what was detected on it
   * is noise. */
  psps = self->result->psps != NULL ? self->result->psps[channel] : NULL;
  if (without_access (self, channel))
    psps = NULL;
  for (guint i = psps != NULL ? imp_detect_first_event (psps, start) : 0;
       psps != NULL && i < psps->len; i++)
    {
      const ImpEvent *event = &g_array_index (psps, ImpEvent, i);
      double x;

      if (event->sample > end)
        break;

      x = round (sample_to_x (self, event->sample)) + 0.5;
      set_source (cr, event->amplitude >= 0 ? &palette->excitatory
                                            : &palette->inhibitory, 0.9);
      cairo_move_to (cr, x, top + height - 10);
      cairo_line_to (cr, x, top + height - 3);
      cairo_stroke (cr);
    }

  /* APs: small downward triangles at the top of the row. */
  aps = ap_samples (self, channel);
  if (aps == NULL)
    return;

  set_source (cr, &palette->ap, 1.0);
  for (guint i = first_event_at (aps, start); i < aps->len; i++)
    {
      gint64 sample = g_array_index (aps, gint64, i);
      double x;

      if (sample > end)
        break;

      x = sample_to_x (self, sample);
      cairo_move_to (cr, x - 4, top + 3);
      cairo_line_to (cr, x + 4, top + 3);
      cairo_line_to (cr, x, top + 9);
      cairo_close_path (cr);
      cairo_fill (cr);
    }
}

/* The selected pair's presynaptic APs, as lines through both rows. */
static void
draw_pair_markers (ImpTracesView *self,
                   cairo_t       *cr,
                   const Palette *palette)
{
  GArray *aps;
  gint64 start = (gint64) floor (self->t0);
  gint64 end = (gint64) ceil (self->t0 + self->span);
  double value = gtk_adjustment_get_value (self->vadj);
  double h = row_height (self);
  double top = trace_top (self) + (0 - value) * h;
  double bottom = top + 2 * h;
  static const double dashes[] = { 3, 3 };

  aps = ap_samples (self, self->pre);
  if (aps == NULL)
    return;

  set_source (cr, &palette->accent, 0.7);
  cairo_set_line_width (cr, 1);
  cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  for (guint i = first_event_at (aps, start); i < aps->len; i++)
    {
      gint64 sample = g_array_index (aps, gint64, i);
      double x;

      if (sample > end)
        break;

      x = round (sample_to_x (self, sample)) + 0.5;
      cairo_move_to (cr, x, MAX (top, trace_top (self)));
      cairo_line_to (cr, x, bottom);
      cairo_stroke (cr);
    }
  cairo_set_dash (cr, NULL, 0, 0);
}

static const char *
channel_role (ImpTracesView *self,
              guint          channel)
{
  if ((int) channel == self->pre)
    return _("pre");
  if ((int) channel == self->post)
    return _("post");
  return NULL;
}

/* Room for a channel's name in the label column, beside its @role. */
static int
name_width (ImpTracesView *self,
            const char    *role,
            int           *role_width)
{
  g_autofree char *markup = NULL;
  int height;

  *role_width = 0;
  if (role == NULL)
    return GUTTER_WIDTH - 16;

  markup = g_markup_printf_escaped ("<small>%s</small>", role);
  text_size (self, markup, role_width, &height);
  return GUTTER_WIDTH - 16 - *role_width - 6;
}

static PangoLayout *
create_name_layout (ImpTracesView *self,
                    guint          channel,
                    int            max_width)
{
  const ImpChannel *info = imp_recording_get_channel (self->recording,
                                                      channel);
  g_autofree char *markup = NULL;

  markup = g_markup_printf_escaped ("<b>%s</b>",
                                    info->label != NULL ? info->label : "");
  return create_clipped_layout (self, markup, max_width);
}

/* The electrode's place on the array under its name, when the file gives
 * one: its grid row and column, or x and y. */
static gboolean
draw_row_position (ImpTracesView *self,
                   cairo_t       *cr,
                   const Palette *palette,
                   guint          channel,
                   double         y)
{
  g_autofree char *where = NULL;
  g_autofree char *markup = NULL;

  if (self->layout == NULL ||
      !imp_array_layout_is_placed (self->layout, channel))
    return FALSE;

  where = imp_array_layout_describe (self->layout, channel);
  markup = g_markup_printf_escaped ("<small>%s</small>", where);
  set_source (cr, &palette->fg, 0.6);
  draw_clipped_text (self, cr, markup, 10, y, GUTTER_WIDTH - 16);
  return TRUE;
}

static void
draw_row_label (ImpTracesView *self,
                cairo_t       *cr,
                const Palette *palette,
                guint          channel,
                double         top,
                gboolean       have_baseline,
                double         baseline)
{
  const ImpChannel *info = imp_recording_get_channel (self->recording,
                                                      channel);
  g_autoptr(PangoLayout) name = NULL;
  g_autofree char *detail = NULL;
  const char *role = channel_role (self, channel);
  const char *unit = info->unit != NULL ? info->unit : "";
  gboolean no_access = without_access (self, channel);
  gboolean placed;
  int role_width;

  /* Everything stays in the label column: long names are ellipsized,
   * and the canvas's tooltip gives them in full. */
  name = create_name_layout (self, channel,
                             name_width (self, role, &role_width));
  set_source (cr, &palette->fg, 0.9);
  cairo_move_to (cr, 10, round (top + 5));
  pango_cairo_show_layout (cr, name);

  if (role != NULL)
    {
      g_autofree char *markup = NULL;

      markup = g_markup_printf_escaped ("<small>%s</small>", role);
      set_source (cr, &palette->accent, 1.0);
      draw_clipped_text (self, cr, markup, GUTTER_WIDTH - 6 - role_width,
                         top + 6, role_width + 1);
    }

  /* Where the electrode is, when the file says; then its level, or
   * that it has no access (and so no level worth reading). */
  placed = draw_row_position (self, cr, palette, channel, top + 22);
  if (!placed || !no_access)
    {
      if (have_baseline)
        detail = g_markup_printf_escaped ("<small>%.1f %s</small>",
                                          baseline, unit);
      else
        detail = g_markup_printf_escaped ("<small>%s</small>", unit);
      set_source (cr, &palette->fg, 0.6);
      draw_clipped_text (self, cr, detail, 10, top + (placed ? 38 : 24),
                         GUTTER_WIDTH - 16);
    }

  if (no_access)
    {
      g_autofree char *note = NULL;

      /* The same words as the overview's legend and imprint info. */
      note = g_markup_printf_escaped ("<small>%s</small>",
                                      channel_access (self, channel)
                                      == IMP_ACCESS_EXTRACELLULAR
                                      ? _("extracellular") : _("no signal"));
      set_source (cr, &palette->fg, 0.45);
      draw_clipped_text (self, cr, note, 10, top + (placed ? 38 : 40),
                         GUTTER_WIDTH - 16);
    }
}

/* For each unit group, the visible row that shows its scale bar: the
 * first one wholly in view, otherwise the first one partly in view. */
static int *
scale_bar_rows (ImpTracesView *self,
                guint          first_row,
                guint          end_row)
{
  int *rows = g_new (int, MAX (self->n_groups, 1));
  double value = gtk_adjustment_get_value (self->vadj);

  for (guint g = 0; g < self->n_groups; g++)
    rows[g] = -1;

  for (int whole = 1; whole >= 0; whole--)
    for (guint row = first_row; row < end_row; row++)
      {
        guint g = self->group[self->order[row]];
        gboolean in_view = row + 1e-6 >= value &&
                           row + 1 <= value + rows_per_page (self) + 1e-6;

        if (rows[g] < 0 && (in_view || !whole))
          rows[g] = row;
      }

  return rows;
}

/* Overlaid sweeps, the selected pair's evoked PSPs, and where the keys
 * act */

/* How many sweeps are drawn on one another. */
static guint
n_overlaid (ImpTracesView *self)
{
  return MIN (imp_recording_get_n_sweeps (self->recording), MAX_OVERLAY);
}

/* Shifts the view to sweep @k, so that the drawing and fetching
 * functions, which work from t0, work on that sweep, and clips the
 * drawing to it. Returns the view's own t0, for end_sweep(). */
static double
begin_sweep (ImpTracesView *self,
             cairo_t       *cr,
             guint          k)
{
  const ImpSweep *sweep = imp_recording_get_sweep (self->recording, k);
  double t0 = self->t0;
  double left, right;

  self->t0 = t0 + sweep->start_sample;
  if (cr != NULL)
    {
      left = MAX (GUTTER_WIDTH, sample_to_x (self, sweep->start_sample));
      right = MIN (GUTTER_WIDTH + trace_width (self),
                   sample_to_x (self, sweep->start_sample +
                                      sweep->n_samples));
      cairo_save (cr);
      cairo_rectangle (cr, left, 0, MAX (0, right - left),
                       gtk_widget_get_height (self->canvas));
      cairo_clip (cr);
    }
  return t0;
}

static void
end_sweep (ImpTracesView *self,
           cairo_t       *cr,
           double         t0)
{
  self->t0 = t0;
  if (cr != NULL)
    cairo_restore (cr);
}

/* Overlaid, every sweep's visible columns are fetched in turn. */
static gboolean
imp_traces_view_fetch_overlaid (ImpTracesView *self)
{
  gint64 deadline = g_get_monotonic_time () + FETCH_BUDGET_US;
  gboolean complete = TRUE;

  for (guint k = 0; k < n_overlaid (self); k++)
    {
      double t0 = begin_sweep (self, NULL, k);

      complete &= imp_traces_view_fetch (self,
                                         MAX (200, deadline -
                                                   g_get_monotonic_time ()));
      end_sweep (self, NULL, t0);
    }

  return complete;
}

/* One sweep's trace in a row: for each run of columns with a value, the
 * envelope of their ranges (a line once a column is one sample). Kept
 * apart from the drawing of the traces in sequence, so that either can
 * change on its own. */
static void
draw_sweep_trace (ImpTracesView *self,
                  cairo_t       *cr,
                  const GdkRGBA *color,
                  guint          channel,
                  double         base_y,
                  double         baseline)
{
  guint first_row, end_row;
  gint64 c0, c1;
  gint64 spc = column_width (self);
  double centre = spc > 1 ? spc / 2.0 : 0;
  double gain = channel_gain (self, channel);
  g_autofree double *xs = NULL;
  g_autofree double *tops = NULL;
  g_autofree double *bottoms = NULL;
  guint n, run = 0;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  if (c1 <= c0)
    return;

  n = c1 - c0;
  xs = g_new (double, n);
  tops = g_new (double, n);
  bottoms = g_new (double, n);
  cairo_new_path (cr);
  for (guint k = 0; k <= n; k++)
    {
      float min, max;

      if (k < n && imp_trace_cache_get_column (self->cache, channel, c0 + k,
                                               &min, &max, NULL))
        {
          xs[k] = sample_to_x (self, (c0 + k) * spc + centre);
          tops[k] = base_y - (max - baseline) * gain;
          bottoms[k] = base_y - (min - baseline) * gain;
          continue;
        }

      /* A run ends: its maxima forwards, its minima backwards. */
      for (guint i = run; i < k; i++)
        cairo_line_to (cr, xs[i], tops[i]);
      for (guint i = k; i > run; i--)
        cairo_line_to (cr, xs[i - 1], bottoms[i - 1]);
      if (k > run)
        cairo_close_path (cr);
      cairo_new_sub_path (cr);
      run = k + 1;
    }

  cairo_set_line_width (cr, 1.0);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  set_source (cr, color, 1.0);
  cairo_fill_preserve (cr);
  cairo_stroke (cr);
}

/* A row's sweeps on one another, each lighter the more there are. */
static void
draw_overlaid (ImpTracesView *self,
               cairo_t       *cr,
               const Palette *palette,
               guint          channel,
               double         top,
               double         height,
               gboolean       have_baseline,
               double         baseline)
{
  guint n = n_overlaid (self);
  GdkRGBA color = palette->fg;

  color.alpha *= CLAMP (1.6 / sqrt (n), 0.12, 1.0);
  for (guint k = 0; k < n; k++)
    {
      double t0 = begin_sweep (self, cr, k);

      if (have_baseline)
        draw_sweep_trace (self, cr, &color, channel,
                          top + BASELINE_FRAC * height, baseline);
      draw_events (self, cr, palette, channel, top, height);
      end_sweep (self, cr, t0);
    }
}

/* What the strip above the traces says while the sweeps overlay. */
static void
draw_overlay_title (ImpTracesView *self,
                    cairo_t       *cr,
                    const Palette *palette)
{
  guint n_sweeps = imp_recording_get_n_sweeps (self->recording);
  g_autofree char *markup = NULL;

  if (n_overlaid (self) < n_sweeps)
    markup = g_strdup_printf (_("<small>Sweeps 1–%u of %u overlaid, time "
                                "from each sweep's start</small>"),
                              n_overlaid (self), n_sweeps);
  else
    markup = g_strdup_printf (_("<small>%u sweeps overlaid, time from each "
                                "sweep's start</small>"), n_sweeps);
  set_source (cr, &palette->fg, 0.6);
  draw_text (self, cr, markup, GUTTER_WIDTH + 5, trace_top (self) / 2, 0,
             0.5);
}

/* The row showing @channel, or -1. */
static int
channel_row (ImpTracesView *self,
             int            channel)
{
  for (guint row = 0; channel >= 0 && row < n_rows (self); row++)
    if ((int) self->order[row] == channel)
      return row;
  return -1;
}

static double
row_top (ImpTracesView *self,
         int            row)
{
  return trace_top (self) +
         (row - gtk_adjustment_get_value (self->vadj)) * row_height (self);
}

/* The selected pair's evoked PSPs: a dot at each onset in the
 * postsynaptic row, joined to the AP that evoked it (whose line the pair's
 * markers draw) by a bracket as long as the latency. */
static void
draw_evoked (ImpTracesView *self,
             cairo_t       *cr,
             const Palette *palette)
{
  int post_row = channel_row (self, self->post);
  gint64 start = (gint64) floor (self->t0);
  gint64 end = (gint64) ceil (self->t0 + self->span);
  double h = row_height (self);
  double y;

  if (self->evoked == NULL || post_row < 0)
    return;

  y = row_top (self, post_row) + h - 15;
  cairo_set_line_width (cr, 1.5);
  for (guint i = 0; i < self->evoked->len; i++)
    {
      const ImpEvoked *e = &g_array_index (self->evoked, ImpEvoked, i);
      const GdkRGBA *color = e->amplitude_mv > 0 ? &palette->excitatory
                                                 : &palette->inhibitory;
      double x_ap, x_psp;

      if (e->psp_sample < start || e->ap_sample > end)
        continue;

      x_ap = round (sample_to_x (self, e->ap_sample)) + 0.5;
      x_psp = round (sample_to_x (self, e->psp_sample)) + 0.5;

      set_source (cr, color, 0.85);
      cairo_move_to (cr, x_ap, y - 7);
      cairo_line_to (cr, x_ap, y);
      cairo_line_to (cr, x_psp, y);
      cairo_stroke (cr);

      cairo_new_path (cr);
      cairo_arc (cr, x_psp, y, 3.5, 0, 2 * G_PI);
      set_source (cr, &palette->bg, 1.0);
      cairo_fill_preserve (cr);
      set_source (cr, color, 1.0);
      cairo_stroke (cr);
    }
}

/* A bar beside the name of the channel the keys act on, and a line
 * through the event last stepped to. */
static void
draw_marks (ImpTracesView *self,
            cairo_t       *cr,
            const Palette *palette)
{
  int row = channel_row (self, current_channel (self));
  double h = row_height (self);
  double x;

  if (row >= 0 && (self->focus_channel >= 0 || self->mark_channel >= 0) &&
      gtk_widget_has_focus (self->canvas))
    {
      set_source (cr, &palette->accent, 0.9);
      cairo_rectangle (cr, 2, round (row_top (self, row)) + 3, 3, h - 6);
      cairo_fill (cr);
    }

  row = channel_row (self, self->mark_channel);
  if (row < 0 || self->mark_sample < 0)
    return;

  x = self->mark_sample;
  if (overlaid (self))
    x -= imp_recording_get_sweep (self->recording,
                                  imp_recording_sweep_at (self->recording,
                                                          self->mark_sample))
           ->start_sample;
  x = round (sample_to_x (self, x)) + 0.5;
  if (x < GUTTER_WIDTH || x > GUTTER_WIDTH + trace_width (self))
    return;

  cairo_save (cr);
  cairo_rectangle (cr, GUTTER_WIDTH, trace_top (self), trace_width (self),
                   trace_height (self));
  cairo_clip (cr);
  set_source (cr, &palette->accent, 0.75);
  cairo_set_line_width (cr, 1.5);
  cairo_move_to (cr, x, row_top (self, row) + 2);
  cairo_line_to (cr, x, row_top (self, row) + h - 2);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_rows (ImpTracesView *self,
           cairo_t       *cr,
           const Palette *palette)
{
  guint first_row, end_row;
  gint64 c0, c1;
  double value = gtk_adjustment_get_value (self->vadj);
  double h = row_height (self);
  double area_top = trace_top (self);
  double area_height = trace_height (self);
  double right = GUTTER_WIDTH + trace_width (self);
  g_autofree int *bar_rows = NULL;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  bar_rows = scale_bar_rows (self, first_row, end_row);

  cairo_save (cr);
  cairo_rectangle (cr, 0, area_top, right + RIGHT_PAD, area_height);
  cairo_clip (cr);

  for (guint row = first_row; row < end_row; row++)
    {
      guint channel = self->order[row];
      double top = area_top + (row - value) * h;
      double baseline = 0;
      gboolean have;

      /* The backdrop and the trace are drawn below (snapshot_below_cb). */
      have = imp_traces_view_row_baseline (self, row, &baseline);
      draw_row_label (self, cr, palette, channel, top, have, baseline);
      if (bar_rows[self->group[channel]] == (int) row)
        draw_scale_bar (self, cr, palette, self->group[channel], top, h);

      cairo_save (cr);
      cairo_rectangle (cr, GUTTER_WIDTH, top, trace_width (self), h);
      cairo_clip (cr);

      if (overlaid (self))
        draw_overlaid (self, cr, palette, channel, top, h, have, baseline);
      else
        draw_events (self, cr, palette, channel, top, h);

      cairo_restore (cr);
    }

  cairo_save (cr);
  cairo_rectangle (cr, GUTTER_WIDTH, area_top, trace_width (self),
                   area_height);
  cairo_clip (cr);
  for (guint k = 0; k < (overlaid (self) ? n_overlaid (self) : 1); k++)
    {
      double t0 = overlaid (self) ? begin_sweep (self, cr, k) : self->t0;

      draw_pair_markers (self, cr, palette);
      draw_evoked (self, cr, palette);
      if (overlaid (self))
        end_sweep (self, cr, t0);
    }
  cairo_restore (cr);

  cairo_restore (cr);
}

/* The row under (@x, @y), or -1. */
static int
row_at (ImpTracesView *self,
        double         y)
{
  double top = trace_top (self);
  double row;

  if (y < top || y >= top + trace_height (self))
    return -1;

  row = gtk_adjustment_get_value (self->vadj) + (y - top) / row_height (self);
  if (row < 0 || row >= n_rows (self))
    return -1;

  return (int) row;
}

/* The time under the pointer, as markup, or NULL when the pointer is not
 * over the traces. */
static char *
cursor_time_markup (ImpTracesView *self)
{
  double rate = imp_recording_get_sample_rate (self->recording);
  double x = self->pointer_x;
  double sample = x_to_sample (self, x);
  double precision = MAX (samples_per_pixel (self), 1) / rate;
  double end = (self->t0 + self->span) / rate;
  g_autofree char *time = NULL;

  if (!self->hover || x < GUTTER_WIDTH ||
      x > GUTTER_WIDTH + trace_width (self) ||
      sample < 0 || sample >= imp_recording_get_n_samples (self->recording))
    return NULL;

  time = _imp_traces_format_cursor_time (sample / rate, precision, end);
  return g_strdup_printf ("<small>%s</small>", time);
}

/* What the cursor reads in @row at canvas x @x: the sample nearest to it
 * while each column is one sample, otherwise the column's range, from
 * *@lo to *@hi. Overlaid, from the sweep whose trace passes closest to
 * @y. FALSE where nothing is read. */
static gboolean
cursor_value (ImpTracesView *self,
              int            row,
              double         x,
              double         y,
              guint         *channel,
              gint64        *sample,
              float         *lo,
              float         *hi)
{
  gint64 spc = column_width (self);
  guint n_sweeps = overlaid (self)
                   ? MIN (imp_recording_get_n_sweeps (self->recording),
                          MAX_OVERLAY)
                   : 1;
  double best = G_MAXDOUBLE;
  double baseline = 0;
  double base_y;

  if (row < 0 || (guint) row >= n_rows (self) || self->cache == NULL)
    return FALSE;

  *channel = self->order[row];
  base_y = trace_top (self) + (row - gtk_adjustment_get_value (self->vadj) +
                               BASELINE_FRAC) * row_height (self);
  if (n_sweeps > 1)
    imp_traces_view_channel_stats (self, *channel, FALSE, &baseline, NULL,
                                   NULL);

  for (guint k = 0; k < n_sweeps; k++)
    {
      const ImpSweep *sweep = imp_recording_get_sweep (self->recording, k);
      gint64 offset = n_sweeps > 1 ? sweep->start_sample : 0;
      double s = x_to_sample (self, x) + offset;
      gint64 column = spc == 1 ? (gint64) floor (s + 0.5)
                               : (gint64) floor (s / spc);
      float l, h;
      double distance;

      if (s < 0 || (n_sweeps > 1 && (column * spc < sweep->start_sample ||
                                     column * spc >= sweep->start_sample +
                                                     sweep->n_samples)) ||
          !imp_trace_cache_get_column (self->cache, *channel, column, &l,
                                       &h, NULL))
        continue;

      distance = fabs (base_y - (0.5 * (l + h) - baseline) *
                                channel_gain (self, *channel) - y);
      if (distance < best)
        {
          best = distance;
          *sample = column * spc;
          *lo = l;
          *hi = h;
        }
    }

  return best < G_MAXDOUBLE;
}

/* The channel's name and the value read, in its unit. */
static char *
cursor_value_markup (ImpTracesView *self,
                     guint          channel,
                     gint64         sample,
                     float          lo,
                     float          hi)
{
  const ImpChannel *info = imp_recording_get_channel (self->recording,
                                                      channel);
  const char *unit = info->unit != NULL ? info->unit : "";
  const char *label = info->label != NULL ? info->label : "";
  g_autofree char *sweep = NULL;

  if (overlaid (self))
    sweep = g_strdup_printf (_(", sweep %u"),
                             imp_recording_sweep_at (self->recording,
                                                     sample) + 1);

  if (column_width (self) == 1 || hi - lo < 0.05)
    return g_markup_printf_escaped ("<small><b>%s</b>%s  %.2f %s</small>",
                                    label, sweep != NULL ? sweep : "",
                                    0.5 * (lo + hi), unit);
  return g_markup_printf_escaped ("<small><b>%s</b>%s  %.1f to %.1f %s"
                                  "</small>",
                                  label, sweep != NULL ? sweep : "",
                                  lo, hi, unit);
}

/* The value under the pointer, beside the cursor, and a dot where the
 * cursor meets the sample it reads. */
static void
draw_cursor_value (ImpTracesView *self,
                   cairo_t       *cr,
                   const Palette *palette,
                   int            row,
                   double         x)
{
  g_autofree char *markup = NULL;
  double top = trace_top (self) +
               (row - gtk_adjustment_get_value (self->vadj)) *
               row_height (self);
  double baseline, dot_x, dot_y;
  guint channel = 0;
  gint64 sample = 0;
  float lo = 0;
  float hi = 0;

  if (!cursor_value (self, row, x, self->pointer_y, &channel, &sample, &lo,
                     &hi))
    return;

  markup = cursor_value_markup (self, channel, sample, lo, hi);
  draw_label_box (self, cr, palette, markup, x, top + 3, TRUE);

  if (column_width (self) > 1 || overlaid (self) ||
      !imp_traces_view_channel_stats (self, channel, FALSE, &baseline, NULL,
                                      NULL))
    return;

  dot_x = sample_to_x (self, sample);
  dot_y = top + BASELINE_FRAC * row_height (self) -
          (lo - baseline) * channel_gain (self, channel);
  cairo_new_path (cr);
  cairo_arc (cr, dot_x, dot_y, 3.5, 0, 2 * G_PI);
  set_source (cr, &palette->bg, 1.0);
  cairo_fill_preserve (cr);
  cairo_set_line_width (cr, 1.5);
  set_source (cr, &palette->accent, 1.0);
  cairo_stroke (cr);
}

/* A cursor through all rows, with its @time below and the value of the
 * row under the pointer beside it. */
static void
draw_cursor (ImpTracesView *self,
             cairo_t       *cr,
             const Palette *palette,
             const char    *time)
{
  double x = self->pointer_x;
  double top = trace_top (self);
  double bottom = top + trace_height (self);

  set_source (cr, &palette->fg, 0.3);
  cairo_rectangle (cr, round (x), top, 1, bottom - top);
  cairo_fill (cr);

  draw_label_box (self, cr, palette, time, x, bottom + 5, FALSE);
  draw_cursor_value (self, cr, palette, row_at (self, self->pointer_y), x);
}

/* While the pyramid is built: a thin line along the time axis, as far as
 * it has come. The traces it covers turn exact as it goes. */
static void
draw_pyramid_progress (ImpTracesView *self,
                       cairo_t       *cr,
                       const Palette *palette)
{
  double y = trace_top (self) + trace_height (self);

  if (!imp_session_get_pyramid_growing (self->session))
    return;

  set_source (cr, &palette->accent, 0.7);
  cairo_rectangle (cr, GUTTER_WIDTH, y - 1,
                   trace_width (self) *
                   imp_session_get_pyramid_progress (self->session), 2);
  cairo_fill (cr);
}

static void
draw_cb (GtkDrawingArea *area,
         cairo_t        *cr,
         int             width,
         int             height,
         gpointer        user_data)
{
  ImpTracesView *self = user_data;
  g_autofree char *time = NULL;
  const char *error;
  double hole_left = G_MAXDOUBLE;
  double hole_right = -G_MAXDOUBLE;
  Palette palette;

  if (self->recording == NULL || n_rows (self) == 0)
    return;

  imp_traces_view_palette (self, &palette);

  set_source (cr, &palette.fg, 0.1);
  cairo_rectangle (cr, GUTTER_WIDTH - 1, 0, 1, height - AXIS_HEIGHT);
  cairo_fill (cr);

  if (overlaid (self))
    draw_overlay_title (self, cr, &palette);
  else
    draw_sweeps (self, cr, &palette);
  draw_rows (self, cr, &palette);
  draw_marks (self, cr, &palette);

  /* The cursor's time takes the place of the tick labels it would
   * cover. */
  time = cursor_time_markup (self);
  if (time != NULL)
    {
      int label_width, label_height;

      text_size (self, time, &label_width, &label_height);
      hole_left = label_box_left (self, label_width, self->pointer_x,
                                  FALSE) - 4;
      hole_right = hole_left + label_width + 8;
    }
  draw_time_axis (self, cr, &palette, hole_left, hole_right);
  draw_pyramid_progress (self, cr, &palette);

  if (time != NULL)
    draw_cursor (self, cr, &palette, time);

  /* Say why the traces stop, on the traces, not only in a log. */
  error = self->read_error;
  if (error == NULL && self->cache != NULL)
    error = imp_trace_cache_get_error (self->cache);
  if (error != NULL)
    {
      g_autofree char *markup = NULL;

      markup = g_markup_printf_escaped (_("<b>Could not read the "
                                          "recording</b>\n%s"),
                                        error);
      draw_label_box (self, cr, &palette, markup,
                      GUTTER_WIDTH + trace_width (self) / 2,
                      trace_top (self) + trace_height (self) / 2, FALSE);
    }
}

/* Input */

/* The channel the keys act on: the one under the pointer, else the one
 * clicked last if it is still shown, else the presynaptic one, else the
 * first in view; -1 without rows. */
static int
current_channel (ImpTracesView *self)
{
  guint first_row, end_row;
  gint64 c0, c1;
  int row;

  if (self->recording == NULL || n_rows (self) == 0)
    return -1;

  row = self->hover ? row_at (self, self->pointer_y) : -1;
  if (row >= 0)
    return self->order[row];

  for (guint r = 0; self->focus_channel >= 0 && r < n_rows (self); r++)
    if ((int) self->order[r] == self->focus_channel)
      return self->focus_channel;

  if (self->pre >= 0)
    return self->pre;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  return self->order[MIN (first_row, n_rows (self) - 1)];
}

/* Scales the current channel's amplitude, on a scale of its own, or every
 * channel's with @all (or when there is no current channel). */
static void
imp_traces_view_scale_some (ImpTracesView *self,
                            double         factor,
                            gboolean       all)
{
  int channel = all ? -1 : current_channel (self);

  if (channel < 0 || self->group == NULL)
    {
      imp_traces_view_scale_gain (self, factor);
      return;
    }

  self->fit = IMP_FIT_NONE;
  self->user_scaled = TRUE;
  imp_traces_view_isolate (self, channel);
  self->group_gain[self->group[channel]] =
    CLAMP (self->group_gain[self->group[channel]] * factor, 1e-6, 1e6);
  gtk_widget_queue_draw (self->canvas);
}

/* Brings @channel's row into view, if it is a row. */
static void
imp_traces_view_reveal_channel (ImpTracesView *self,
                                guint          channel)
{
  double value = gtk_adjustment_get_value (self->vadj);
  guint page = rows_per_page (self);

  for (guint row = 0; row < n_rows (self); row++)
    {
      if (self->order[row] != channel)
        continue;
      if (row < value)
        gtk_adjustment_set_value (self->vadj, row);
      else if (row + 1 > value + page)
        gtk_adjustment_set_value (self->vadj, row + 1.0 - page);
      return;
    }
}

/* The events of @channel the keys step through, as sorted sample
 * indices: its APs, or the onsets of its PSPs. */
static GArray *
channel_events (ImpTracesView *self,
                guint          channel,
                gboolean       psps)
{
  GArray *samples;
  GArray *events;

  if (!psps)
    {
      GArray *aps = ap_samples (self, channel);

      return aps != NULL ? g_array_ref (aps) : NULL;
    }

  if (self->result == NULL || self->result->psps == NULL ||
      self->result->n_channels != n_channels (self) ||
      without_access (self, channel))
    return NULL;

  events = self->result->psps[channel];
  samples = g_array_sized_new (FALSE, FALSE, sizeof (gint64), events->len);
  for (guint i = 0; i < events->len; i++)
    {
      gint64 t = g_array_index (events, ImpEvent, i).sample;

      g_array_append_val (samples, t);
    }
  return samples;
}

/* Centres the view on the next (@direction 1) or previous (-1) AP or PSP
 * of the current channel, after or before the one last stepped to if it
 * is in view, otherwise the middle of the view. */
static gboolean
imp_traces_view_step_event (ImpTracesView *self,
                            gboolean       psps,
                            int            direction)
{
  g_autoptr(GArray) events = NULL;
  int channel = current_channel (self);
  double offset = 0;
  gint64 reference;
  gint64 event;
  guint i;

  if (channel < 0 || (events = channel_events (self, channel, psps)) == NULL)
    {
      gtk_widget_error_bell (self->canvas);
      return FALSE;
    }

  if (overlaid (self))
    offset = imp_recording_get_sweep (self->recording, 0)->start_sample;
  reference = (gint64) floor (offset + self->t0 + self->span / 2);
  if (self->mark_channel == channel && self->mark_sample >= 0 &&
      llabs (self->mark_sample - reference) <= self->span / 2)
    reference = self->mark_sample;

  i = first_event_at (events, reference + (direction > 0 ? 1 : 0));
  if (direction < 0)
    {
      if (i == 0)
        {
          gtk_widget_error_bell (self->canvas);
          return FALSE;
        }
      i--;
    }
  if (i >= events->len)
    {
      gtk_widget_error_bell (self->canvas);
      return FALSE;
    }

  event = g_array_index (events, gint64, i);
  self->mark_channel = channel;
  self->mark_sample = event;
  if (overlaid (self))
    offset = imp_recording_get_sweep (self->recording,
                                      imp_recording_sweep_at (self->recording,
                                                              event))
               ->start_sample;
  imp_traces_view_reveal_channel (self, channel);
  imp_traces_view_set_view (self, event - offset - self->span / 2,
                            self->span);
  return TRUE;
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           ImpTracesView            *self)
{
  GdkModifierType state;
  gboolean pixels;
  double delta;

  if (self->recording == NULL)
    return FALSE;

  state = gtk_event_controller_get_current_event_state (
            GTK_EVENT_CONTROLLER (controller));
  pixels = gtk_event_controller_scroll_get_unit (controller) ==
           GDK_SCROLL_UNIT_SURFACE;
  delta = dy != 0 ? dy : dx;
  if (pixels)
    delta /= 20;

  if (state & GDK_SHIFT_MASK)
    {
      imp_traces_view_scale_some (self, pow (1.2, -delta),
                                  (state & GDK_CONTROL_MASK) != 0);
      return TRUE;
    }

  if (state & GDK_CONTROL_MASK)
    {
      imp_traces_view_zoom (self, pow (1.2, delta),
                            MAX (self->pointer_x, GUTTER_WIDTH));
      return TRUE;
    }

  /* Over the channel labels the wheel scrolls through the channels;
   * over the traces it moves in time. */
  if (self->pointer_x < GUTTER_WIDTH)
    {
      imp_traces_view_scroll_rows (self, pixels ? dy / row_height (self)
                                                : dy * 2);
      return TRUE;
    }

  if (pixels)
    imp_traces_view_pan (self, (dx + dy) * samples_per_pixel (self));
  else
    imp_traces_view_pan (self, (dx + dy) * 0.1 * self->span);

  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           ImpTracesView            *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->hover = TRUE;
  gtk_widget_queue_draw (self->canvas);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          ImpTracesView            *self)
{
  self->hover = FALSE;
  gtk_widget_queue_draw (self->canvas);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               ImpTracesView  *self)
{
  self->drag_t0 = self->t0;
  self->drag_rows = gtk_adjustment_get_value (self->vadj);
  gtk_widget_grab_focus (self->canvas);
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                ImpTracesView  *self)
{
  if (self->recording == NULL)
    return;

  imp_traces_view_set_view (self,
                            self->drag_t0 - dx * samples_per_pixel (self),
                            self->span);
  gtk_adjustment_set_value (self->vadj,
                            self->drag_rows - dy / row_height (self));
}

static void
zoom_begin_cb (GtkGesture       *gesture,
               GdkEventSequence *sequence,
               ImpTracesView    *self)
{
  double x, y;

  if (!gtk_gesture_get_bounding_box_center (gesture, &x, &y))
    x = GUTTER_WIDTH + trace_width (self) / 2;

  self->zoom_span = self->span;
  self->zoom_anchor = x_to_sample (self, x);
}

static void
zoom_scale_changed_cb (GtkGestureZoom *gesture,
                       double          scale,
                       ImpTracesView  *self)
{
  double x, y;
  double span;

  if (self->recording == NULL || scale <= 0)
    return;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    x = GUTTER_WIDTH + trace_width (self) / 2;

  span = self->zoom_span / scale;
  imp_traces_view_set_view (self,
                            self->zoom_anchor -
                            (x - GUTTER_WIDTH) * span / trace_width (self),
                            span);
}

static void
imp_traces_view_step_pre_ap (ImpTracesView *self,
                             int            direction)
{
  GArray *aps;
  gint64 centre = (gint64) (self->t0 + 0.25 * self->span);
  guint i;

  aps = ap_samples (self, self->pre);
  if (aps == NULL)
    return;

  i = first_event_at (aps, centre + (direction > 0 ? 1 : 0));
  if (direction < 0)
    {
      if (i == 0)
        return;
      i--;
    }
  if (i >= aps->len)
    return;

  imp_traces_view_set_view (self,
                            g_array_index (aps, gint64, i) - 0.25 * self->span,
                            self->span);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                ImpTracesView         *self)
{
  double centre = GUTTER_WIDTH + trace_width (self) / 2;
  gboolean shift = (state & GDK_SHIFT_MASK) != 0;
  double n_samples;

  if (self->recording == NULL)
    return FALSE;

  n_samples = imp_recording_get_n_samples (self->recording);

  switch (keyval)
    {
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      imp_traces_view_pan (self, -(shift ? 0.5 : 0.1) * self->span);
      return TRUE;

    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      imp_traces_view_pan (self, (shift ? 0.5 : 0.1) * self->span);
      return TRUE;

    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      if (shift)
        imp_traces_view_scale_some (self, 1.25,
                                    (state & GDK_CONTROL_MASK) != 0);
      else
        imp_traces_view_scroll_rows (self, -1);
      return TRUE;

    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      if (shift)
        imp_traces_view_scale_some (self, 1 / 1.25,
                                    (state & GDK_CONTROL_MASK) != 0);
      else
        imp_traces_view_scroll_rows (self, 1);
      return TRUE;

    case GDK_KEY_Page_Up:
    case GDK_KEY_KP_Page_Up:
      imp_traces_view_scroll_rows (self, -(double) rows_per_page (self));
      return TRUE;

    case GDK_KEY_Page_Down:
    case GDK_KEY_KP_Page_Down:
      imp_traces_view_scroll_rows (self, rows_per_page (self));
      return TRUE;

    case GDK_KEY_plus:
    case GDK_KEY_equal:
    case GDK_KEY_KP_Add:
      imp_traces_view_zoom (self, 0.5, centre);
      return TRUE;

    case GDK_KEY_minus:
    case GDK_KEY_KP_Subtract:
      imp_traces_view_zoom (self, 2, centre);
      return TRUE;

    case GDK_KEY_Home:
    case GDK_KEY_KP_Home:
      imp_traces_view_set_view (self, 0, self->span);
      return TRUE;

    case GDK_KEY_End:
    case GDK_KEY_KP_End:
      imp_traces_view_set_view (self, n_samples - self->span, self->span);
      return TRUE;

    case GDK_KEY_0:
    case GDK_KEY_KP_0:
      /* The whole recording, scaled to the whole recording. */
      self->fit = IMP_FIT_RECORDING;
      self->user_scaled = FALSE;
      imp_traces_view_set_view (self, 0, n_samples);
      return TRUE;

    case GDK_KEY_a:
      self->fit = self->post >= 0 ? IMP_FIT_POST : IMP_FIT_VISIBLE;
      self->user_scaled = FALSE;
      imp_traces_view_queue_update (self);
      return TRUE;

    case GDK_KEY_n:
      imp_traces_view_step_pre_ap (self, 1);
      return TRUE;

    case GDK_KEY_p:
      imp_traces_view_step_pre_ap (self, -1);
      return TRUE;

    case GDK_KEY_period:
    case GDK_KEY_comma:
    case GDK_KEY_greater:
    case GDK_KEY_less:
      imp_traces_view_step_event (self,
                                  keyval == GDK_KEY_greater ||
                                  keyval == GDK_KEY_less,
                                  keyval == GDK_KEY_period ||
                                  keyval == GDK_KEY_greater ? 1 : -1);
      return TRUE;

    case GDK_KEY_o:
      if (imp_recording_get_n_sweeps (self->recording) < 2)
        return FALSE;
      imp_traces_view_set_overlay_sweeps (self, !self->overlay);
      return TRUE;

    default:
      return FALSE;
    }
}

/* A channel's name in full, its unit and access, over its label. */
static gboolean
query_tooltip_cb (GtkWidget     *widget,
                  int            x,
                  int            y,
                  gboolean       keyboard,
                  GtkTooltip    *tooltip,
                  ImpTracesView *self)
{
  const ImpChannel *info;
  g_autofree char *text = NULL;
  guint channel;
  int row;

  if (self->recording == NULL || keyboard || x >= GUTTER_WIDTH)
    return FALSE;

  row = row_at (self, y);
  if (row < 0)
    return FALSE;

  channel = self->order[row];
  info = imp_recording_get_channel (self->recording, channel);
  text = g_strdup_printf ("%s (%s)%s",
                          info->label != NULL ? info->label : "",
                          info->unit != NULL ? info->unit : "",
                          without_access (self, channel)
                            ? _(", without intracellular access") : "");
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

/* A click on a row makes its channel the one the keys act on. */
static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            ImpTracesView   *self)
{
  int row = row_at (self, y);

  gtk_widget_grab_focus (self->canvas);
  if (row >= 0)
    {
      self->focus_channel = self->order[row];
      gtk_widget_queue_draw (self->canvas);
    }
}

/* Linked views: what the view shows goes to the session, and the
 * session's focus and chosen channels come back */

/* Samples the time axis spans: the recording, or its longest sweep while
 * the sweeps overlay. */
static gint64
extent_samples (ImpTracesView *self)
{
  guint n_sweeps;
  gint64 longest = 0;

  if (self->recording == NULL)
    return 0;

  n_sweeps = imp_recording_get_n_sweeps (self->recording);
  if (!self->overlay || n_sweeps < 2)
    return imp_recording_get_n_samples (self->recording);

  for (guint i = 0; i < n_sweeps; i++)
    longest = MAX (longest,
                   imp_recording_get_sweep (self->recording, i)->n_samples);
  return longest;
}

static gboolean
overlaid (ImpTracesView *self)
{
  return self->overlay && self->recording != NULL &&
         imp_recording_get_n_sweeps (self->recording) > 1;
}

/* Tells the session which channels are in view and which time. */
static void
imp_traces_view_publish (ImpTracesView *self)
{
  guint first_row, end_row;
  gint64 c0, c1;
  double rate;

  if (self->session == NULL || self->recording == NULL ||
      self->cache == NULL)
    return;

  imp_traces_view_visible (self, &first_row, &end_row, &c0, &c1);
  imp_session_set_shown_channels (self->session, self->order + first_row,
                                  end_row > first_row
                                  ? end_row - first_row : 0);

  /* Overlaid, the time is that of the first sweep, which starts the
   * recording. */
  rate = imp_recording_get_sample_rate (self->recording);
  imp_session_set_focus (self->session, self->t0 / rate,
                         (self->t0 + self->span) / rate);
}

static void
focus_changed_cb (ImpTracesView *self)
{
  double start_s, end_s, rate;
  double t0, span;

  if (self->recording == NULL ||
      !imp_session_get_focus (self->session, &start_s, &end_s))
    return;

  rate = imp_recording_get_sample_rate (self->recording);
  t0 = start_s * rate;
  span = (end_s - start_s) * rate;
  if (overlaid (self))
    {
      const ImpSweep *sweep;

      sweep = imp_recording_get_sweep (self->recording,
                                       imp_recording_sweep_at (
                                         self->recording,
                                         (gint64) MAX (0, t0)));
      t0 -= sweep->start_sample;
    }

  if (fabs (t0 - self->t0) < 0.5 && fabs (span - self->span) < 0.5)
    return;

  imp_traces_view_set_view (self, t0, span);
}

static void
channels_changed_cb (ImpTracesView *self)
{
  imp_traces_view_update_order (self);
  gtk_adjustment_set_value (self->vadj, 0);
  imp_traces_view_queue_update (self);
}

/* What belongs to the last recording goes: its layout, the channel the
 * keys act on, the event last stepped to. */
static void
imp_traces_view_forget_recording (ImpTracesView *self)
{
  g_clear_pointer (&self->layout, imp_array_layout_free);
  if (self->recording != NULL)
    self->layout = imp_array_layout_new (self->recording);
  self->focus_channel = -1;
  self->mark_channel = -1;
  self->mark_sample = -1;
  self->overlay_start = 0;
  g_clear_pointer (&self->evoked, g_array_unref);
}

/* The selected pair's presynaptic APs and the PSPs they evoked. */
static void
imp_traces_view_find_evoked (ImpTracesView *self)
{
  ImpCandidate *candidate;

  g_clear_pointer (&self->evoked, g_array_unref);
  candidate = imp_session_get_selected_candidate (self->session);
  if (candidate == NULL || self->result == NULL ||
      self->result->n_channels != n_channels (self))
    return;

  self->evoked = imp_activity_evoked (self->result, self->recording,
                                      candidate);
}

/* Session */

/* The rows: the selected pair's channels first, then the channels chosen
 * in the session, or every channel while none is chosen. */
static void
imp_traces_view_update_order (ImpTracesView *self)
{
  guint n = n_channels (self);
  const guint *chosen = NULL;
  guint n_chosen = 0;
  guint row = 0;

  g_clear_pointer (&self->order, g_free);
  self->order = g_new (guint, MAX (n, 1));

  if (self->pre >= 0 && (guint) self->pre < n)
    self->order[row++] = self->pre;
  if (self->post >= 0 && (guint) self->post < n && self->post != self->pre)
    self->order[row++] = self->post;

  if (self->session != NULL)
    chosen = imp_session_get_channels (self->session, &n_chosen);
  for (guint i = 0; i < (n_chosen > 0 ? n_chosen : n); i++)
    {
      guint c = n_chosen > 0 ? chosen[i] : i;

      if (c < n && (int) c != self->pre && (int) c != self->post)
        self->order[row++] = c;
    }

  self->n_rows = row;
  imp_traces_view_update_adjustment (self);
}

static void
imp_traces_view_reset_order (ImpTracesView *self)
{
  self->pre = -1;
  self->post = -1;
  imp_traces_view_update_order (self);
}

static void
recording_changed_cb (ImpTracesView *self)
{
  ImpRecording *recording = imp_session_get_recording (self->session);
  double rate;

  g_clear_pointer (&self->recording, imp_recording_unref);
  if (recording != NULL)
    self->recording = imp_recording_ref (recording);

  g_clear_pointer (&self->cache, imp_trace_cache_free);
  g_clear_object (&self->texture);
  if (recording != NULL)
    {
      self->cache = imp_trace_cache_new (recording);
      imp_trace_cache_set_notify (self->cache, cache_notify_cb, self);
    }
  imp_traces_view_forget_recording (self);
  imp_traces_view_reset_order (self);
  imp_traces_view_make_groups (self, NULL);
  g_clear_pointer (&self->read_error, g_free);
  self->fit = IMP_FIT_RECORDING;
  self->user_scaled = FALSE;

  if (recording != NULL)
    {
      rate = imp_recording_get_sample_rate (recording);
      self->t0 = 0;
      self->span = MIN (imp_recording_get_n_samples (recording),
                        INITIAL_SPAN_S * rate);
    }

  gtk_adjustment_set_value (self->vadj, 0);
  imp_traces_view_update_adjustment (self);
  imp_traces_view_clamp (self);
  imp_traces_view_queue_update (self);
}

/* The pyramid gives the cache wide columns without reading, more of them
 * as it grows. */
static void
pyramid_changed_cb (ImpTracesView *self)
{
  if (self->cache != NULL)
    imp_trace_cache_set_pyramid (
      self->cache, imp_session_get_pyramid (self->session),
      imp_session_get_pyramid_growing (self->session));
  imp_traces_view_queue_update (self);
}

static void
result_changed_cb (ImpTracesView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  if (result != NULL)
    self->result = imp_analysis_result_ref (result);

  /* Wide columns are read again, around the APs now known. */
  if (self->cache != NULL)
    imp_trace_cache_set_result (self->cache, self->result);

  /* Which channels have access is known now: group them again, unless
   * the user has set the scales. */
  if (!self->user_scaled && self->fit == IMP_FIT_NONE)
    self->fit = IMP_FIT_RECORDING;
  imp_traces_view_queue_update (self);
}

static void
selected_changed_cb (ImpTracesView *self)
{
  ImpCandidate *candidate;
  guint n = n_channels (self);
  GArray *aps;
  double rate;
  double span;

  candidate = imp_session_get_selected_candidate (self->session);
  imp_traces_view_reset_order (self);
  imp_traces_view_find_evoked (self);

  /* The last postsynaptic channel's own scale goes, unless the user set
   * the scales. */
  if (self->cache != NULL && !self->user_scaled)
    imp_traces_view_fit_groups (self, TRUE);

  if (candidate == NULL || candidate->pre >= n || candidate->post >= n)
    {
      imp_traces_view_queue_update (self);
      return;
    }

  /* The pair first, then the other channels in their own order. */
  self->pre = candidate->pre;
  self->post = candidate->post;
  imp_traces_view_update_order (self);
  imp_traces_view_find_evoked (self);

  gtk_adjustment_set_value (self->vadj, 0);

  /* Scale for the postsynaptic potentials, not for the APs. */
  self->fit = IMP_FIT_POST;

  aps = ap_samples (self, self->pre);
  if (aps != NULL && aps->len > 0)
    {
      rate = imp_recording_get_sample_rate (self->recording);
      span = 0.004 * (self->result->params.window_pre_ms +
                      self->result->params.window_post_ms) * rate;
      span = MAX (span, 0.1 * rate);
      imp_traces_view_set_view (self,
                                g_array_index (aps, gint64, 0) - 0.2 * span,
                                span);
    }

  imp_traces_view_queue_update (self);
}

static void
canvas_resize_cb (GtkDrawingArea *area,
                  int             width,
                  int             height,
                  ImpTracesView  *self)
{
  imp_traces_view_update_adjustment (self);
  imp_traces_view_clamp (self);
  imp_traces_view_queue_update (self);
}

static void
adjustment_changed_cb (ImpTracesView *self)
{
  imp_traces_view_queue_update (self);
}

/* GObject */

static void
imp_traces_view_constructed (GObject *object)
{
  ImpTracesView *self = IMP_TRACES_VIEW (object);

  G_OBJECT_CLASS (imp_traces_view_parent_class)->constructed (object);

  g_return_if_fail (IMP_IS_SESSION (self->session));

  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (recording_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::result",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::selected",
                           G_CALLBACK (selected_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::channels",
                           G_CALLBACK (channels_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::focus",
                           G_CALLBACK (focus_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::pyramid",
                           G_CALLBACK (pyramid_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::pyramid-growing",
                           G_CALLBACK (pyramid_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::pyramid-progress",
                           G_CALLBACK (pyramid_changed_cb), self,
                           G_CONNECT_SWAPPED);

  recording_changed_cb (self);
  pyramid_changed_cb (self);
  result_changed_cb (self);
  selected_changed_cb (self);
}

static void
imp_traces_view_dispose (GObject *object)
{
  ImpTracesView *self = IMP_TRACES_VIEW (object);

  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (self->canvas, self->tick_id);
  self->tick_id = 0;

  /* Its worker's results would otherwise still arrive. */
  g_clear_pointer (&self->cache, imp_trace_cache_free);
  g_clear_object (&self->texture);
  g_clear_pointer (&self->frame_rows, g_array_unref);

  if (self->canvas != NULL)
    imp_snapshot_area_set_below_func (IMP_SNAPSHOT_AREA (self->canvas),
                                      NULL, NULL);
  g_clear_pointer (&self->canvas, gtk_widget_unparent);
  g_clear_pointer (&self->scrollbar, gtk_widget_unparent);

  g_clear_object (&self->session);

  G_OBJECT_CLASS (imp_traces_view_parent_class)->dispose (object);
}

static void
imp_traces_view_finalize (GObject *object)
{
  ImpTracesView *self = IMP_TRACES_VIEW (object);

  g_clear_pointer (&self->result, imp_analysis_result_unref);
  g_clear_pointer (&self->recording, imp_recording_unref);
  g_clear_pointer (&self->cache, imp_trace_cache_free);
  g_clear_pointer (&self->read_error, g_free);
  g_clear_pointer (&self->order, g_free);
  g_clear_pointer (&self->layout, imp_array_layout_free);
  g_clear_pointer (&self->evoked, g_array_unref);
  imp_traces_view_clear_groups (self);
  g_clear_object (&self->vadj);
  g_clear_pointer (&self->pool, imp_texture_pool_free);

  G_OBJECT_CLASS (imp_traces_view_parent_class)->finalize (object);
}

static void
imp_traces_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  ImpTracesView *self = IMP_TRACES_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;

    case PROP_OVERLAY_SWEEPS:
      g_value_set_boolean (value, self->overlay);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_traces_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  ImpTracesView *self = IMP_TRACES_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;

    case PROP_OVERLAY_SWEEPS:
      imp_traces_view_set_overlay_sweeps (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_traces_view_class_init (ImpTracesViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = imp_traces_view_constructed;
  object_class->dispose = imp_traces_view_dispose;
  object_class->finalize = imp_traces_view_finalize;
  object_class->get_property = imp_traces_view_get_property;
  object_class->set_property = imp_traces_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  properties[PROP_OVERLAY_SWEEPS] =
    g_param_spec_boolean ("overlay-sweeps", NULL, NULL,
                          FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class,
                                            GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tracesview");
}

static void
imp_traces_view_init (ImpTracesView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->pre = -1;
  self->post = -1;
  self->focus_channel = -1;
  self->mark_channel = -1;
  self->mark_sample = -1;
  self->fit = IMP_FIT_RECORDING;
  self->order = g_new0 (guint, 1);
  self->vadj = g_object_ref_sink (gtk_adjustment_new (0, 0, 1, 1, 1, 1));
  g_signal_connect_object (self->vadj, "value-changed",
                           G_CALLBACK (adjustment_changed_cb), self,
                           G_CONNECT_SWAPPED);

  self->pool = imp_texture_pool_new ();
  self->canvas = imp_snapshot_area_new ();
  imp_snapshot_area_set_below_func (IMP_SNAPSHOT_AREA (self->canvas),
                                    snapshot_below_cb, self);
  gtk_widget_set_hexpand (self->canvas, TRUE);
  gtk_widget_set_vexpand (self->canvas, TRUE);
  gtk_widget_set_focusable (self->canvas, TRUE);
  gtk_widget_set_overflow (self->canvas, GTK_OVERFLOW_HIDDEN);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->canvas),
                                  draw_cb, self, NULL);
  g_signal_connect (self->canvas, "resize",
                    G_CALLBACK (canvas_resize_cb), self);
  gtk_widget_set_parent (self->canvas, GTK_WIDGET (self));

  self->scrollbar = gtk_scrollbar_new (GTK_ORIENTATION_VERTICAL, self->vadj);
  gtk_widget_set_parent (self->scrollbar, GTK_WIDGET (self));

  controller = gtk_event_controller_scroll_new (
                 GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed",
                    G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update",
                    G_CALLBACK (drag_update_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (zoom_begin_cb), self);
  g_signal_connect (gesture, "scale-changed",
                    G_CALLBACK (zoom_scale_changed_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "pressed", G_CALLBACK (pressed_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gtk_widget_set_has_tooltip (self->canvas, TRUE);
  g_signal_connect (self->canvas, "query-tooltip",
                    G_CALLBACK (query_tooltip_cb), self);
}

/**
 * imp_traces_view_new:
 * @session: the window's session
 *
 * Returns: (transfer floating): a view of the session's recording
 */
GtkWidget *
imp_traces_view_new (ImpSession *session)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), NULL);

  return g_object_new (IMP_TYPE_TRACES_VIEW,
                       "session", session,
                       NULL);
}

/**
 * imp_traces_view_get_visible_range:
 * @self: a #ImpTracesView
 * @start_s: (out) (optional): where the visible time range starts, in s
 * @end_s: (out) (optional): where it ends, in s
 *
 * Gets the time range shown, from the start of the recording.
 */
void
imp_traces_view_get_visible_range (ImpTracesView *self,
                                   double        *start_s,
                                   double        *end_s)
{
  double rate = 1;

  g_return_if_fail (IMP_IS_TRACES_VIEW (self));

  if (self->recording != NULL)
    rate = imp_recording_get_sample_rate (self->recording);

  if (start_s != NULL)
    *start_s = self->recording != NULL ? self->t0 / rate : 0;
  if (end_s != NULL)
    *end_s = self->recording != NULL ? (self->t0 + self->span) / rate : 0;
}

/**
 * imp_traces_view_set_visible_range:
 * @self: a #ImpTracesView
 * @start_s: where the range starts, in s
 * @end_s: where it ends, in s
 *
 * Shows a time range, within the limits of the recording and the zoom.
 */
void
imp_traces_view_set_visible_range (ImpTracesView *self,
                                   double         start_s,
                                   double         end_s)
{
  double rate;

  g_return_if_fail (IMP_IS_TRACES_VIEW (self));
  g_return_if_fail (end_s > start_s);

  if (self->recording == NULL)
    return;

  rate = imp_recording_get_sample_rate (self->recording);
  imp_traces_view_set_view (self, start_s * rate, (end_s - start_s) * rate);
}

/**
 * imp_traces_view_get_first_channel:
 * @self: a #ImpTracesView
 *
 * Returns: the channel shown in the first row, or -1 with no recording
 */
int
imp_traces_view_get_first_channel (ImpTracesView *self)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), -1);

  if (n_rows (self) == 0)
    return -1;

  return self->order[0];
}

/**
 * imp_traces_view_get_overlay_sweeps:
 * @self: a #ImpTracesView
 *
 * Returns: whether the sweeps are drawn on one another
 */
gboolean
imp_traces_view_get_overlay_sweeps (ImpTracesView *self)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), FALSE);

  return self->overlay;
}

/**
 * imp_traces_view_set_overlay_sweeps:
 * @self: a #ImpTracesView
 * @overlay: whether to draw the sweeps on one another
 *
 * Draws the sweeps of an episodic recording on one another, on a time
 * axis from each sweep's start, or one after the other. The time in view
 * stays where it was in the sweep in view. A recording of one sweep looks
 * the same either way.
 */
void
imp_traces_view_set_overlay_sweeps (ImpTracesView *self,
                                    gboolean       overlay)
{
  gboolean before;
  double t0;

  g_return_if_fail (IMP_IS_TRACES_VIEW (self));

  overlay = !!overlay;
  if (overlay == self->overlay)
    return;

  before = overlaid (self);
  t0 = self->t0;
  self->overlay = overlay;

  if (!before && overlaid (self))
    {
      self->overlay_start = imp_recording_get_sweep (
                              self->recording,
                              imp_recording_sweep_at (self->recording,
                                                      (gint64) MAX (0, t0)))
                              ->start_sample;
      imp_traces_view_set_view (self, t0 - self->overlay_start, self->span);
    }
  else if (before && !overlaid (self))
    imp_traces_view_set_view (self, t0 + self->overlay_start, self->span);

  g_object_notify_by_pspec (G_OBJECT (self),
                            properties[PROP_OVERLAY_SWEEPS]);
}

/* For tests */

ImpTraceCache *
_imp_traces_view_get_cache (ImpTracesView *self)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), NULL);

  return self->cache;
}

gboolean
_imp_traces_view_is_settled (ImpTracesView *self)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), FALSE);

  return self->tick_id == 0 && self->fit == IMP_FIT_NONE &&
         imp_traces_view_exact (self);
}

void
_imp_traces_view_get_columns (ImpTracesView *self,
                              gint64        *first,
                              gint64        *end)
{
  guint first_row, end_row;

  g_return_if_fail (IMP_IS_TRACES_VIEW (self));
  g_return_if_fail (self->recording != NULL);

  imp_traces_view_visible (self, &first_row, &end_row, first, end);
}

double
_imp_traces_view_get_gain (ImpTracesView *self,
                           guint          channel)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), 0);

  return channel_gain (self, channel);
}

double
_imp_traces_view_get_row_height (ImpTracesView *self)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), 0);

  return row_height (self);
}

double
_imp_traces_view_get_row_top (ImpTracesView *self,
                              guint          row)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), 0);

  return trace_top (self) +
         (row - gtk_adjustment_get_value (self->vadj)) * row_height (self);
}

double
_imp_traces_view_get_sample_x (ImpTracesView *self,
                               double         sample)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), 0);

  return sample_to_x (self, sample);
}

GArray *
_imp_traces_view_get_sweep_lines (ImpTracesView *self)
{
  gboolean thinned;

  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), NULL);
  g_return_val_if_fail (self->recording != NULL, NULL);

  return sweep_lines (self, &thinned);
}

int
_imp_traces_view_get_label_width (ImpTracesView *self,
                                  guint          channel)
{
  g_autoptr(PangoLayout) layout = NULL;
  int role_width, width, height;

  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), 0);
  g_return_val_if_fail (channel < n_channels (self), 0);

  layout = create_name_layout (self, channel,
                               name_width (self,
                                           channel_role (self, channel),
                                           &role_width));
  pango_layout_get_pixel_size (layout, &width, &height);
  return 10 + width;
}

int
_imp_traces_view_get_gutter_width (void)
{
  return GUTTER_WIDTH;
}

const guint *
_imp_traces_view_get_rows (ImpTracesView *self,
                           guint         *rows)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), NULL);

  *rows = n_rows (self);
  return self->order;
}

void
_imp_traces_view_get_trace_area (ImpTracesView *self,
                                 double        *left,
                                 double        *width)
{
  g_return_if_fail (IMP_IS_TRACES_VIEW (self));

  *left = GUTTER_WIDTH;
  *width = trace_width (self);
}

gboolean
_imp_traces_view_cursor_readout (ImpTracesView *self,
                                 double         x,
                                 double         y,
                                 guint         *channel,
                                 gint64        *sample,
                                 float         *lo,
                                 float         *hi)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), FALSE);

  return cursor_value (self, row_at (self, y), x, y, channel, sample, lo,
                       hi);
}

void
_imp_traces_view_set_focus_channel (ImpTracesView *self,
                                    int            channel)
{
  g_return_if_fail (IMP_IS_TRACES_VIEW (self));

  self->focus_channel = channel;
  gtk_widget_queue_draw (self->canvas);
}

gboolean
_imp_traces_view_get_mark (ImpTracesView *self,
                           guint         *channel,
                           gint64        *sample)
{
  g_return_val_if_fail (IMP_IS_TRACES_VIEW (self), FALSE);

  if (self->mark_channel < 0)
    return FALSE;

  *channel = self->mark_channel;
  *sample = self->mark_sample;
  return TRUE;
}
