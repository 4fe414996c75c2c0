/* imp-imprint-view.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <adwaita.h>
#include <glib/gi18n.h>

#include "imp-conductance.h"
#include "imp-imprint-view-private.h"
#include "imp-plot.h"

#define PAD          12.0
#define TITLE_SPACE  22.0
#define BAR_WIDTH    16.0
#define BAR_GAP      28.0
#define BAR_LABELS   110.0
#define MANY_CHANNELS 64

struct _ImpImprintView
{
  GtkWidget       parent_instance;

  ImpSession     *session;
  ImpConductance *matrix;
  cairo_surface_t *image;    /* one pixel per cross-point */
  double          label_width;
  double          label_height;
  int             hover_row;
  int             hover_col;
  gboolean        updating;

  GtkWidget      *stack;
  GtkWidget      *summary;
  GtkWidget      *connected_only;
  GtkWidget      *canvas;
};

enum {
  PROP_0,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ImpImprintView, imp_imprint_view, GTK_TYPE_WIDGET)

/* Where the matrix, its labels and the colour bar go, for drawing and for
 * hit testing alike. */
typedef struct
{
  guint  size;
  double left;
  double top;
  double cell;
  guint  label_step;    /* label every k-th row and column */
  double bar_x;
  double bar_top;
  double bar_height;
} Geometry;

static const char *
channel_label (ImpImprintView *self,
               guint           channel)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);

  if (result != NULL && result->labels != NULL
      && channel < result->n_channels && result->labels[channel] != NULL)
    return result->labels[channel];
  return "?";
}

static gboolean
compute_geometry (ImpImprintView *self,
                  int             width,
                  int             height,
                  Geometry       *g)
{
  double margin_left, margin_top, avail_w, avail_h;

  if (self->matrix == NULL || imp_conductance_get_size (self->matrix) == 0)
    return FALSE;

  g->size = imp_conductance_get_size (self->matrix);
  margin_left = PAD + TITLE_SPACE + self->label_width + 6;
  margin_top = PAD + TITLE_SPACE + self->label_width + 6;
  avail_w = width - margin_left - PAD - BAR_GAP - BAR_WIDTH - BAR_LABELS;
  avail_h = height - margin_top - PAD;
  if (avail_w < 20 || avail_h < 20)
    return FALSE;

  g->cell = MIN (avail_w, avail_h) / g->size;
  if (g->cell >= 3)
    g->cell = floor (g->cell);
  g->left = round (margin_left + (avail_w - g->cell * g->size) / 2);
  g->top = round (margin_top);
  g->label_step = (guint) ceil ((self->label_height + 1) / g->cell);
  g->label_step = MAX (g->label_step, 1);
  g->bar_x = g->left + g->cell * g->size + BAR_GAP;
  g->bar_top = g->top;
  /* leave room under the bar for the connection dots' key */
  g->bar_height = MAX (g->cell * g->size - 56, 120);

  return TRUE;
}

static gboolean
cell_at (ImpImprintView *self,
         double          x,
         double          y,
         guint          *row,
         guint          *col)
{
  Geometry g;
  double r, c;

  if (!compute_geometry (self, gtk_widget_get_width (self->canvas),
                         gtk_widget_get_height (self->canvas), &g))
    return FALSE;

  c = floor ((x - g.left) / g.cell);
  r = floor ((y - g.top) / g.cell);
  if (c < 0 || r < 0 || c >= g.size || r >= g.size)
    return FALSE;

  *row = (guint) r;
  *col = (guint) c;
  return TRUE;
}

/* Model */

static void
build_image (ImpImprintView *self)
{
  guint size = imp_conductance_get_size (self->matrix);
  unsigned char *data;
  int stride;

  g_clear_pointer (&self->image, cairo_surface_destroy);
  if (size == 0)
    return;

  self->image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, size, size);
  cairo_surface_flush (self->image);
  data = cairo_image_surface_get_data (self->image);
  stride = cairo_image_surface_get_stride (self->image);

  for (guint r = 0; r < size; r++)
    {
      guint32 *row = (guint32 *) (data + (gsize) r * stride);

      for (guint c = 0; c < size; c++)
        {
          GdkRGBA rgba;

          imp_plot_diverging_color (imp_conductance_get (self->matrix, r, c),
                                    &rgba);
          row[c] = ((guint32) round (rgba.red * 255) << 16)
                   | ((guint32) round (rgba.green * 255) << 8)
                   | (guint32) round (rgba.blue * 255);
        }
    }
  cairo_surface_mark_dirty (self->image);
}

static void
measure_labels (ImpImprintView *self)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.8);
  guint size = imp_conductance_get_size (self->matrix);

  self->label_width = 0;
  self->label_height = 12;
  for (guint i = 0; i < size; i++)
    {
      double w, h;

      imp_plot_text_size (text,
                          channel_label (self,
                                         imp_conductance_get_channel
                                           (self->matrix, i)),
                          &w, &h);
      self->label_width = MAX (self->label_width, w);
      self->label_height = h;
    }
  self->label_width = MIN (self->label_width, 120);
}

static void
update_summary (ImpImprintView *self)
{
  guint size = imp_conductance_get_size (self->matrix);
  guint up = 0;
  guint down = 0;
  g_autofree char *text = NULL;

  for (guint r = 0; r < size; r++)
    for (guint c = 0; c < size; c++)
      {
        double g = imp_conductance_get (self->matrix, r, c);

        up += g > IMP_CONDUCTANCE_BASELINE + 1e-6;
        down += g < IMP_CONDUCTANCE_BASELINE - 1e-6;
      }

  text = g_strdup_printf (_("%u × %u crossbar: %u cross-points potentiated, "
                            "%u depressed"),
                          size, size, up, down);
  gtk_label_set_text (GTK_LABEL (self->summary), text);
}

static void
rebuild (ImpImprintView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);

  g_clear_pointer (&self->matrix, imp_conductance_free);
  g_clear_pointer (&self->image, cairo_surface_destroy);
  self->hover_row = self->hover_col = -1;

  if (result == NULL || result->candidates == NULL || result->n_channels == 0)
    {
      gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
      return;
    }

  self->matrix = imp_conductance_new
    (result, gtk_switch_get_active (GTK_SWITCH (self->connected_only)));
  build_image (self);
  measure_labels (self);
  update_summary (self);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "matrix");
  gtk_widget_queue_draw (self->canvas);
}

/* Drawing */

static void
draw_labels (ImpImprintView *self,
             cairo_t        *cr,
             const Geometry *g,
             const GdkRGBA  *fg)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.8);
  g_autoptr(PangoLayout) title = imp_plot_layout_new (self->canvas, 0.9);
  double span = g->cell * g->size;

  imp_plot_set_source (cr, fg, 0.8);
  for (guint i = 0; i < g->size; i += g->label_step)
    {
      const char *label = channel_label (self,
                                         imp_conductance_get_channel
                                           (self->matrix, i));
      double centre = (i + 0.5) * g->cell;

      imp_plot_text (cr, text, label, g->left - 5, g->top + centre, 1.0, 0.5);
      cairo_save (cr);
      cairo_translate (cr, g->left + centre, g->top - 5);
      cairo_rotate (cr, -G_PI_2);
      imp_plot_text (cr, text, label, 0, 0, 0.0, 0.5);
      cairo_restore (cr);
    }

  imp_plot_set_source (cr, fg, 0.9);
  imp_plot_text (cr, title, _("Postsynaptic cell (column)"),
                 g->left + span / 2, PAD, 0.5, 0.0);
  cairo_save (cr);
  cairo_translate (cr, PAD, g->top + span / 2);
  cairo_rotate (cr, -G_PI_2);
  imp_plot_text (cr, title, _("Presynaptic cell (row)"), 0, 0, 0.5, 0.0);
  cairo_restore (cr);
}

/* A dot in the sign's colour marks each connection's own cross-point, so
 * that a reciprocal pair, whose changes partly cancel, is still found. */
static void
draw_connections (ImpImprintView *self,
                  cairo_t        *cr,
                  const Geometry *g)
{
  guint n = imp_conductance_get_n_connections (self->matrix);
  double radius = MIN (g->cell * 0.16, 4.0);

  for (guint i = 0; i < n; i++)
    {
      GdkRGBA color;
      guint row, col;
      char sign;

      imp_conductance_get_connection (self->matrix, i, &row, &col, &sign);
      imp_plot_sign_color (sign, &color);
      cairo_new_path (cr);
      cairo_arc (cr, g->left + (col + 0.5) * g->cell,
                 g->top + (row + 0.5) * g->cell, radius, 0, 2 * G_PI);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke_preserve (cr);
      imp_plot_set_source (cr, &color, 1.0);
      cairo_fill (cr);
    }
}

static void
draw_matrix (ImpImprintView *self,
             cairo_t        *cr,
             const Geometry *g,
             const GdkRGBA  *fg)
{
  double span = g->cell * g->size;

  cairo_save (cr);
  cairo_rectangle (cr, g->left, g->top, span, span);
  cairo_clip (cr);
  cairo_translate (cr, g->left, g->top);
  cairo_scale (cr, g->cell, g->cell);
  cairo_set_source_surface (cr, self->image, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_restore (cr);

  if (g->cell >= 8)
    {
      /* the cells are light in either style, so the grid is dark */
      cairo_set_source_rgba (cr, 0, 0, 0, 0.08);
      cairo_set_line_width (cr, 1.0);
      for (guint i = 1; i < g->size; i++)
        {
          double p = round (i * g->cell) + 0.5;

          cairo_move_to (cr, g->left + p, g->top);
          cairo_line_to (cr, g->left + p, g->top + span);
          cairo_move_to (cr, g->left, g->top + p);
          cairo_line_to (cr, g->left + span, g->top + p);
        }
      cairo_stroke (cr);
    }

  imp_plot_set_source (cr, fg, 0.4);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, g->left - 0.5, g->top - 0.5, span + 1, span + 1);
  cairo_stroke (cr);

  if (g->cell >= 8)
    draw_connections (self, cr, g);
}

static void
outline_cell (cairo_t        *cr,
              const Geometry *g,
              int             row,
              int             col,
              const GdkRGBA  *fg,
              gboolean        dashed)
{
  static const double dashes[] = { 3.0, 2.0 };
  double size = MAX (g->cell, 4.0);
  double x = g->left + (col + 0.5) * g->cell - size / 2;
  double y = g->top + (row + 0.5) * g->cell - size / 2;

  cairo_save (cr);
  if (dashed)
    cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.9);
  cairo_set_line_width (cr, 4.0);
  cairo_rectangle (cr, x - 1, y - 1, size + 2, size + 2);
  cairo_stroke (cr);
  imp_plot_set_source (cr, fg, 1.0);
  cairo_set_line_width (cr, 2.0);
  cairo_rectangle (cr, x - 1, y - 1, size + 2, size + 2);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_selection (ImpImprintView *self,
                cairo_t        *cr,
                const Geometry *g)
{
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  GdkRGBA black = { 0.1, 0.1, 0.1, 1.0 };
  int row, col;

  if (self->hover_row >= 0 && self->hover_col >= 0)
    {
      GdkRGBA dim = { 0.3, 0.3, 0.3, 0.6 };

      outline_cell (cr, g, self->hover_row, self->hover_col, &dim, FALSE);
    }

  if (c == NULL)
    return;
  row = imp_conductance_find_channel (self->matrix, c->pre);
  col = imp_conductance_find_channel (self->matrix, c->post);
  if (row < 0 || col < 0)
    return;

  outline_cell (cr, g, col, row, &black, TRUE);
  outline_cell (cr, g, row, col, &black, FALSE);
}

static void
draw_colour_bar (ImpImprintView *self,
                 cairo_t        *cr,
                 const Geometry *g,
                 const GdkRGBA  *fg)
{
  g_autoptr(PangoLayout) text = imp_plot_layout_new (self->canvas, 0.8);
  static const struct
  {
    double      value;
    const char *name;
  } ticks[] = {
    { 1.0, N_("1.0 potentiated") },
    { IMP_CONDUCTANCE_BASELINE, N_("0.5 baseline") },
    { 0.0, N_("0.0 depressed") },
  };
  cairo_pattern_t *gradient;
  double bottom = g->bar_top + g->bar_height;

  gradient = cairo_pattern_create_linear (0, bottom, 0, g->bar_top);
  for (guint i = 0; i <= 12; i++)
    {
      GdkRGBA rgba;

      imp_plot_diverging_color (i / 12.0, &rgba);
      cairo_pattern_add_color_stop_rgb (gradient, i / 12.0,
                                        rgba.red, rgba.green, rgba.blue);
    }
  cairo_rectangle (cr, g->bar_x, g->bar_top, BAR_WIDTH, g->bar_height);
  cairo_set_source (cr, gradient);
  cairo_fill_preserve (cr);
  cairo_pattern_destroy (gradient);
  imp_plot_set_source (cr, fg, 0.4);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);

  for (guint i = 0; i < G_N_ELEMENTS (ticks); i++)
    {
      double y = round (bottom - ticks[i].value * g->bar_height) + 0.5;

      imp_plot_set_source (cr, fg, 0.6);
      cairo_move_to (cr, g->bar_x + BAR_WIDTH, y);
      cairo_line_to (cr, g->bar_x + BAR_WIDTH + 4, y);
      cairo_stroke (cr);
      imp_plot_set_source (cr, fg, 0.8);
      imp_plot_text (cr, text, _(ticks[i].name), g->bar_x + BAR_WIDTH + 7, y,
                     0.0, 0.5);
    }

  imp_plot_set_source (cr, fg, 0.9);
  imp_plot_text (cr, text, _("G / Gmax"), g->bar_x, g->bar_top - 6, 0.0, 1.0);

  if (g->cell < 8)
    return;
  for (guint i = 0; i < 2; i++)
    {
      GdkRGBA color;
      double y = bottom + 22 + i * 18;

      imp_plot_sign_color (i == 0 ? 'E' : 'I', &color);
      cairo_new_path (cr);
      cairo_arc (cr, g->bar_x + BAR_WIDTH / 2, y, 4, 0, 2 * G_PI);
      imp_plot_set_source (cr, &color, 1.0);
      cairo_fill (cr);
      imp_plot_set_source (cr, fg, 0.8);
      imp_plot_text (cr, text, i == 0 ? _("E connection") : _("I connection"),
                     g->bar_x + BAR_WIDTH + 7, y, 0.0, 0.5);
    }
}

static void
draw_cb (GtkDrawingArea *area,
         cairo_t        *cr,
         int             width,
         int             height,
         gpointer        user_data)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (user_data);
  GdkRGBA fg;
  Geometry g;

  if (self->image == NULL || !compute_geometry (self, width, height, &g))
    return;

  imp_plot_get_foreground (GTK_WIDGET (area), &fg);
  draw_labels (self, cr, &g, &fg);
  draw_matrix (self, cr, &g, &fg);
  draw_selection (self, cr, &g);
  draw_colour_bar (self, cr, &g, &fg);
}

/* Input */

static char *
cell_tooltip (ImpImprintView *self,
              guint           row,
              guint           col)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  guint pre = imp_conductance_get_channel (self->matrix, row);
  guint post = imp_conductance_get_channel (self->matrix, col);
  double g = imp_conductance_get (self->matrix, row, col);
  int forward = imp_conductance_get_candidate (self->matrix, row, col);
  int mirror = imp_conductance_get_candidate (self->matrix, col, row);
  g_autofree char *a = g_markup_escape_text (channel_label (self, pre), -1);
  g_autofree char *b = g_markup_escape_text (channel_label (self, post), -1);
  GString *text = g_string_new (NULL);
  const ImpCandidate *c;

  g_string_append_printf (text, _("<b>Row %s, column %s</b>\nG / Gmax = %.3f"),
                          a, b, g);
  if (forward >= 0)
    {
      c = g_ptr_array_index (result->candidates, forward);
      if (c->significant)
        g_string_append_printf (text, _("\nConnection %s → %s: %c, %+.3f mV "
                                        "(potentiates)"),
                                a, b, c->sign, c->amplitude_mv);
    }
  if (mirror >= 0)
    {
      c = g_ptr_array_index (result->candidates, mirror);
      if (c->significant)
        g_string_append_printf (text, _("\nMirror of %s → %s: %c, %+.3f mV "
                                        "(depresses)"),
                                b, a, c->sign, c->amplitude_mv);
    }
  if (forward >= 0 && mirror >= 0
      && ((const ImpCandidate *) g_ptr_array_index (result->candidates,
                                                     forward))->significant
      && ((const ImpCandidate *) g_ptr_array_index (result->candidates,
                                                     mirror))->significant)
    g_string_append (text, _("\nReciprocal pair: the two changes add up"));
  if (fabs (g - IMP_CONDUCTANCE_BASELINE) < 1e-6)
    g_string_append (text, _("\nUnchanged: no connection either way"));

  return g_string_free (text, FALSE);
}

static gboolean
query_tooltip_cb (GtkWidget      *widget,
                  int             x,
                  int             y,
                  gboolean        keyboard,
                  GtkTooltip     *tooltip,
                  ImpImprintView *self)
{
  g_autofree char *markup = NULL;
  guint row, col;

  if (self->matrix == NULL || !cell_at (self, x, y, &row, &col))
    return FALSE;

  markup = cell_tooltip (self, row, col);
  gtk_tooltip_set_markup (tooltip, markup);
  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           ImpImprintView           *self)
{
  guint row, col;
  int r = -1;
  int c = -1;

  if (cell_at (self, x, y, &row, &col))
    {
      r = row;
      c = col;
    }
  if (r == self->hover_row && c == self->hover_col)
    return;

  self->hover_row = r;
  self->hover_col = c;
  gtk_widget_queue_draw (self->canvas);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          ImpImprintView           *self)
{
  self->hover_row = self->hover_col = -1;
  gtk_widget_queue_draw (self->canvas);
}

static void
pressed_cb (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            ImpImprintView  *self)
{
  int candidate = _imp_imprint_view_candidate_at (self, x, y);

  if (candidate >= 0)
    imp_session_set_selected (self->session, candidate);
}

static void
connected_only_cb (ImpImprintView *self)
{
  if (!self->updating)
    rebuild (self);
}

/* Session */

static void
result_changed_cb (ImpImprintView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);

  /* a large array is unreadable cell by cell: start with the connected
   * cells */
  self->updating = TRUE;
  gtk_switch_set_active (GTK_SWITCH (self->connected_only),
                         result != NULL
                         && result->n_channels > MANY_CHANNELS);
  self->updating = FALSE;
  rebuild (self);
}

static void
selected_changed_cb (ImpImprintView *self)
{
  gtk_widget_queue_draw (self->canvas);
}

/* Object */

static void
imp_imprint_view_constructed (GObject *object)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (object);

  G_OBJECT_CLASS (imp_imprint_view_parent_class)->constructed (object);

  g_return_if_fail (IMP_IS_SESSION (self->session));

  g_signal_connect_object (self->session, "notify::result",
                           G_CALLBACK (result_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::selected",
                           G_CALLBACK (selected_changed_cb), self,
                           G_CONNECT_SWAPPED);
  result_changed_cb (self);
}

static void
imp_imprint_view_dispose (GObject *object)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), IMP_TYPE_IMPRINT_VIEW);
  g_clear_pointer (&self->image, cairo_surface_destroy);
  g_clear_pointer (&self->matrix, imp_conductance_free);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (imp_imprint_view_parent_class)->dispose (object);
}

static void
imp_imprint_view_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (object);

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
imp_imprint_view_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
imp_imprint_view_class_init (ImpImprintViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = imp_imprint_view_constructed;
  object_class->dispose = imp_imprint_view_dispose;
  object_class->get_property = imp_imprint_view_get_property;
  object_class->set_property = imp_imprint_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL,
                         IMP_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                         | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/imprint/Imprint/"
                                               "imp-imprint-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView, stack);
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView,
                                        summary);
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView,
                                        connected_only);
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView, canvas);
  gtk_widget_class_bind_template_callback (widget_class, connected_only_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "impimprintview");
}

static void
imp_imprint_view_init (ImpImprintView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->hover_row = self->hover_col = -1;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->canvas), draw_cb,
                                  self, NULL);
  g_signal_connect (self->canvas, "query-tooltip",
                    G_CALLBACK (query_tooltip_cb), self);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "pressed", G_CALLBACK (pressed_cb), self);
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));
}

/**
 * imp_imprint_view_new:
 * @session: the window's session
 *
 * Returns: (transfer floating): the crossbar conductance view
 */
GtkWidget *
imp_imprint_view_new (ImpSession *session)
{
  g_return_val_if_fail (IMP_IS_SESSION (session), NULL);

  return g_object_new (IMP_TYPE_IMPRINT_VIEW, "session", session, NULL);
}

/* Internal, for tests */

int
_imp_imprint_view_candidate_at (ImpImprintView *self,
                                double          x,
                                double          y)
{
  guint row, col;

  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), -1);

  if (self->matrix == NULL || !cell_at (self, x, y, &row, &col))
    return -1;
  return imp_conductance_get_candidate (self->matrix, row, col);
}

gboolean
_imp_imprint_view_get_cell_centre (ImpImprintView *self,
                                   guint           pre,
                                   guint           post,
                                   double         *x,
                                   double         *y)
{
  Geometry g;
  int row, col;

  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), FALSE);

  if (self->matrix == NULL
      || !compute_geometry (self, gtk_widget_get_width (self->canvas),
                            gtk_widget_get_height (self->canvas), &g))
    return FALSE;
  row = imp_conductance_find_channel (self->matrix, pre);
  col = imp_conductance_find_channel (self->matrix, post);
  if (row < 0 || col < 0)
    return FALSE;

  *x = g.left + (col + 0.5) * g.cell;
  *y = g.top + (row + 0.5) * g.cell;
  return TRUE;
}

double
_imp_imprint_view_get_conductance (ImpImprintView *self,
                                   guint           pre,
                                   guint           post)
{
  int row, col;

  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), -1);

  if (self->matrix == NULL)
    return -1;
  row = imp_conductance_find_channel (self->matrix, pre);
  col = imp_conductance_find_channel (self->matrix, post);
  if (row < 0 || col < 0)
    return -1;
  return imp_conductance_get (self->matrix, row, col);
}

GtkWidget *
_imp_imprint_view_get_canvas (ImpImprintView *self)
{
  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), NULL);

  return self->canvas;
}
