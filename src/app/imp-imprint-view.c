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

#define PAD           12.0
#define TITLE_SPACE   22.0
#define BAR_WIDTH     16.0
#define BAR_GAP       28.0
#define BAR_LABELS    150.0
#define MANY_CHANNELS 32     /* above this, start with connected cells only */
#define DOT_CELL      8.0    /* cells this wide get a grid and dots */
#define MAX_CELL      48.0   /* the closest zoom */
#define ZOOM_STEP     1.25
#define CLICK_SLOP    4.0    /* a press that moves further is a drag */

struct _ImpImprintView
{
  GtkWidget       parent_instance;

  ImpSession     *session;
  ImpConductance *matrix;
  cairo_surface_t *image;    /* one pixel per cross-point */
  cairo_surface_t *overview; /* one pixel per block of cross-points */
  guint           overview_block;
  double          label_width;
  double          label_height;
  int             hover_row;
  int             hover_col;
  gboolean        updating;

  /* view: zoom 1 fits the matrix; (ox, oy) is the cross-point, in cells,
   * at the viewport's top left corner */
  double          zoom;
  double          ox;
  double          oy;
  double          drag_ox;
  double          drag_oy;
  double          pinch_zoom;
  double          pointer_x;
  double          pointer_y;
  double          press_x;
  double          press_y;

  GtkWidget      *stack;
  GtkWidget      *status_page;
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
 * hit testing alike. The matrix shows through a square viewport. */
typedef struct
{
  guint  size;
  double left;          /* the viewport */
  double top;
  double span;
  double cell;          /* pixels per cross-point at this zoom */
  double ox;            /* the cross-point at the viewport's top left */
  double oy;
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

/* The diverging scale with the distance from the baseline under a square
 * root, so that the smallest imprinted change (a tenth of Gmax) is clearly
 * coloured and not lost next to the unchanged cross-points. The colour bar
 * uses the same mapping. */
static void
conductance_color (double   g,
                   GdkRGBA *rgba)
{
  double d = (g - IMP_CONDUCTANCE_BASELINE) / IMP_CONDUCTANCE_BASELINE;

  d = CLAMP (d, -1.0, 1.0);
  imp_plot_diverging_color (0.5 + 0.5 * copysign (sqrt (fabs (d)), d), rgba);
}

static gboolean
compute_geometry (ImpImprintView *self,
                  int             width,
                  int             height,
                  Geometry       *g)
{
  double margin_left, margin_top, avail_w, avail_h, fit, visible;

  if (self->matrix == NULL || imp_conductance_get_size (self->matrix) == 0)
    return FALSE;

  g->size = imp_conductance_get_size (self->matrix);
  margin_left = PAD + TITLE_SPACE + self->label_width + 6;
  margin_top = PAD + TITLE_SPACE + self->label_width + 6;
  avail_w = width - margin_left - PAD - BAR_GAP - BAR_WIDTH - BAR_LABELS;
  avail_h = height - margin_top - PAD;
  if (avail_w < 20 || avail_h < 20)
    return FALSE;

  fit = MIN (avail_w, avail_h) / g->size;
  if (fit >= 3)
    fit = floor (fit);
  g->span = fit * g->size;
  g->left = round (margin_left + (avail_w - g->span) / 2);
  g->top = round (margin_top);
  g->cell = fit * self->zoom;

  visible = g->span / g->cell;
  g->ox = CLAMP (self->ox, 0, g->size - visible);
  g->oy = CLAMP (self->oy, 0, g->size - visible);

  g->label_step = (guint) ceil ((self->label_height + 1) / g->cell);
  g->label_step = MAX (g->label_step, 1);
  g->bar_x = g->left + g->span + BAR_GAP;
  g->bar_top = g->top;
  /* leave room under the bar for the connection dots' key */
  g->bar_height = MAX (g->span - 76, 120);

  return TRUE;
}

static gboolean
get_geometry (ImpImprintView *self,
              Geometry       *g)
{
  return compute_geometry (self, gtk_widget_get_width (self->canvas),
                           gtk_widget_get_height (self->canvas), g);
}

/* The first and one past the last row (or column) in view. */
static void
visible_range (const Geometry *g,
               double          origin,
               guint          *first,
               guint          *end)
{
  *first = (guint) MAX (floor (origin), 0);
  *end = (guint) MIN (ceil (origin + g->span / g->cell), g->size);
}

static double
cell_x (const Geometry *g,
        double          col)
{
  return g->left + (col - g->ox) * g->cell;
}

static double
cell_y (const Geometry *g,
        double          row)
{
  return g->top + (row - g->oy) * g->cell;
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

  if (!get_geometry (self, &g))
    return FALSE;
  if (x < g.left || y < g.top || x >= g.left + g.span
      || y >= g.top + g.span)
    return FALSE;

  c = floor (g.ox + (x - g.left) / g.cell);
  r = floor (g.oy + (y - g.top) / g.cell);
  if (c < 0 || r < 0 || c >= g.size || r >= g.size)
    return FALSE;

  *row = (guint) r;
  *col = (guint) c;
  return TRUE;
}

/* Model */

static guint32
pixel_of (double g)
{
  GdkRGBA rgba;

  conductance_color (g, &rgba);
  return ((guint32) round (rgba.red * 255) << 16)
         | ((guint32) round (rgba.green * 255) << 8)
         | (guint32) round (rgba.blue * 255);
}

static void
build_image (ImpImprintView *self)
{
  guint size = imp_conductance_get_size (self->matrix);
  unsigned char *data;
  int stride;

  g_clear_pointer (&self->image, cairo_surface_destroy);
  g_clear_pointer (&self->overview, cairo_surface_destroy);
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
        row[c] = pixel_of (imp_conductance_get (self->matrix, r, c));
    }
  cairo_surface_mark_dirty (self->image);
}

/* The largest change in a block of cross-points, signed. */
static double
block_extreme (ImpConductance *matrix,
               guint           row,
               guint           col,
               guint           block)
{
  guint size = imp_conductance_get_size (matrix);
  double best = IMP_CONDUCTANCE_BASELINE;

  for (guint r = row; r < MIN (row + block, size); r++)
    for (guint c = col; c < MIN (col + block, size); c++)
      {
        double g = imp_conductance_get (matrix, r, c);

        if (fabs (g - IMP_CONDUCTANCE_BASELINE)
            > fabs (best - IMP_CONDUCTANCE_BASELINE))
          best = g;
      }
  return best;
}

/* When a cross-point is narrower than a pixel, each pixel shows the block
 * of cross-points under it by its largest change, so that no connection
 * disappears between pixels. */
static void
ensure_overview (ImpImprintView *self,
                 guint           block)
{
  guint size = imp_conductance_get_size (self->matrix);
  guint n = (size + block - 1) / block;
  unsigned char *data;
  int stride;

  if (self->overview != NULL && self->overview_block == block)
    return;

  g_clear_pointer (&self->overview, cairo_surface_destroy);
  self->overview = cairo_image_surface_create (CAIRO_FORMAT_RGB24, n, n);
  self->overview_block = block;
  cairo_surface_flush (self->overview);
  data = cairo_image_surface_get_data (self->overview);
  stride = cairo_image_surface_get_stride (self->overview);

  for (guint r = 0; r < n; r++)
    {
      guint32 *row = (guint32 *) (data + (gsize) r * stride);

      for (guint c = 0; c < n; c++)
        row[c] = pixel_of (block_extreme (self->matrix, r * block, c * block,
                                          block));
    }
  cairo_surface_mark_dirty (self->overview);
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

/* The header counts what is drawn: the cross-points above and below the
 * baseline, after reciprocal pairs have summed. */
static void
update_summary (ImpImprintView *self)
{
  guint size = imp_conductance_get_size (self->matrix);
  guint n = imp_conductance_get_n_connections (self->matrix);
  guint n_reciprocal = imp_conductance_get_n_reciprocal (self->matrix);
  guint n_inhibitory = 0;
  guint up = 0;
  guint down = 0;
  g_autofree char *connections = NULL;
  g_autofree char *text = NULL;

  for (guint r = 0; r < size; r++)
    for (guint c = 0; c < size; c++)
      {
        double g = imp_conductance_get (self->matrix, r, c);

        up += g > IMP_CONDUCTANCE_BASELINE + 1e-6;
        down += g < IMP_CONDUCTANCE_BASELINE - 1e-6;
      }
  for (guint i = 0; i < n; i++)
    {
      guint row, col;
      char sign;

      imp_conductance_get_connection (self->matrix, i, &row, &col, &sign);
      n_inhibitory += sign == 'I';
    }

  if (n_reciprocal > 0)
    connections = g_strdup_printf (_("%u connections (%u inhibitory; %u "
                                     "reciprocal pairs, whose changes "
                                     "sum)"),
                                   n, n_inhibitory, n_reciprocal);
  else
    connections = g_strdup_printf (_("%u connections (%u inhibitory)"),
                                   n, n_inhibitory);
  text = g_strdup_printf (_("%u × %u crossbar · %s · %u cross-points "
                            "potentiated, %u depressed"),
                          size, size, connections, up, down);
  gtk_label_set_text (GTK_LABEL (self->summary), text);
}

static gboolean
show_status (ImpImprintView *self)
{
  AdwStatusPage *page = ADW_STATUS_PAGE (self->status_page);
  ImpAnalysisResult *result = imp_session_get_result (self->session);
  const char *title = _("Nothing to Imprint");
  const char *description;

  switch (imp_plot_get_view_state (self->session))
    {
    case IMP_VIEW_STATE_NO_RECORDING:
      description = _("Open a recording and run the analysis; its map is "
                      "then imprinted on a crossbar of conductive "
                      "memories.");
      break;
    case IMP_VIEW_STATE_ANALYSING:
      title = _("Analysing…");
      description = _("The map is imprinted on the crossbar when the "
                      "analysis has finished.");
      break;
    case IMP_VIEW_STATE_NOT_ANALYSED:
      title = _("Not Analysed");
      description = _("Run the analysis (Ctrl+R); its map is then "
                      "imprinted on a crossbar of conductive memories.");
      break;
    case IMP_VIEW_STATE_NO_RESULT:
      title = _("No Analysis Yet");
      description = _("The analysis has not been run yet or is still "
                      "running; its map is imprinted on the crossbar when "
                      "it has finished.");
      break;
    case IMP_VIEW_STATE_READY:
    default:
      if (result->candidates != NULL && result->n_channels > 0)
        return FALSE;
      description = _("The analysis found no channels to imprint.");
      break;
    }

  adw_status_page_set_title (page, title);
  adw_status_page_set_description (page, description);
  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), "empty");
  return TRUE;
}

static void
rebuild (ImpImprintView *self)
{
  ImpAnalysisResult *result = imp_session_get_result (self->session);

  g_clear_pointer (&self->matrix, imp_conductance_free);
  g_clear_pointer (&self->image, cairo_surface_destroy);
  g_clear_pointer (&self->overview, cairo_surface_destroy);
  self->hover_row = self->hover_col = -1;
  self->zoom = 1.0;
  self->ox = self->oy = 0.0;

  if (show_status (self))
    return;

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
  guint first, end;

  imp_plot_set_source (cr, fg, 0.8);
  visible_range (g, g->oy, &first, &end);
  for (guint i = first; i < end; i++)
    {
      double y = cell_y (g, i + 0.5);

      if (i % g->label_step != 0 || y < g->top || y > g->top + g->span)
        continue;
      imp_plot_text (cr, text,
                     channel_label (self, imp_conductance_get_channel
                                            (self->matrix, i)),
                     g->left - 5, y, 1.0, 0.5);
    }
  visible_range (g, g->ox, &first, &end);
  for (guint i = first; i < end; i++)
    {
      double x = cell_x (g, i + 0.5);

      if (i % g->label_step != 0 || x < g->left || x > g->left + g->span)
        continue;
      cairo_save (cr);
      cairo_translate (cr, x, g->top - 5);
      cairo_rotate (cr, -G_PI_2);
      imp_plot_text (cr, text,
                     channel_label (self, imp_conductance_get_channel
                                            (self->matrix, i)),
                     0, 0, 0.0, 0.5);
      cairo_restore (cr);
    }

  imp_plot_set_source (cr, fg, 0.9);
  imp_plot_text (cr, title, _("Postsynaptic cell (column)"),
                 g->left + g->span / 2, PAD, 0.5, 0.0);
  cairo_save (cr);
  cairo_translate (cr, PAD, g->top + g->span / 2);
  cairo_rotate (cr, -G_PI_2);
  imp_plot_text (cr, title, _("Presynaptic cell (row)"), 0, 0, 0.5, 0.0);
  cairo_restore (cr);
}

static void
draw_dot (cairo_t *cr,
          double   x,
          double   y,
          double   radius,
          char     sign,
          gboolean reciprocal)
{
  GdkRGBA color;

  imp_plot_sign_color (sign, &color);
  cairo_new_path (cr);
  cairo_arc (cr, x, y, radius, 0, 2 * G_PI);
  if (reciprocal)
    cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
  else
    cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke_preserve (cr);
  imp_plot_set_source (cr, &color, 1.0);
  cairo_fill (cr);
}

/* A dot in the sign's colour marks each connection's own cross-point, so
 * that a reciprocal pair, whose changes partly cancel, is still found; the
 * pair's dots have a dark rim. */
static void
draw_connections (ImpImprintView *self,
                  cairo_t        *cr,
                  const Geometry *g)
{
  guint n = imp_conductance_get_n_connections (self->matrix);
  double radius = MIN (g->cell * 0.16, 4.0);

  for (guint i = 0; i < n; i++)
    {
      guint row, col;
      char sign;

      imp_conductance_get_connection (self->matrix, i, &row, &col, &sign);
      draw_dot (cr, cell_x (g, col + 0.5), cell_y (g, row + 0.5), radius,
                sign, imp_conductance_get_change (self->matrix, col, row) > 0);
    }
}

static void
draw_grid (cairo_t        *cr,
           const Geometry *g)
{
  guint first, end;

  /* the cells are light in either style, so the grid is dark */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.08);
  cairo_set_line_width (cr, 1.0);
  visible_range (g, g->ox, &first, &end);
  for (guint i = MAX (first, 1); i < end; i++)
    {
      double x = round (cell_x (g, i)) + 0.5;

      cairo_move_to (cr, x, g->top);
      cairo_line_to (cr, x, g->top + g->span);
    }
  visible_range (g, g->oy, &first, &end);
  for (guint i = MAX (first, 1); i < end; i++)
    {
      double y = round (cell_y (g, i)) + 0.5;

      cairo_move_to (cr, g->left, y);
      cairo_line_to (cr, g->left + g->span, y);
    }
  cairo_stroke (cr);
}

static void
draw_matrix (ImpImprintView *self,
             cairo_t        *cr,
             const Geometry *g,
             const GdkRGBA  *fg)
{
  cairo_save (cr);
  cairo_rectangle (cr, g->left, g->top, g->span, g->span);
  cairo_clip (cr);

  cairo_save (cr);
  cairo_translate (cr, g->left - g->ox * g->cell, g->top - g->oy * g->cell);
  if (g->cell >= 1)
    {
      cairo_scale (cr, g->cell, g->cell);
      cairo_set_source_surface (cr, self->image, 0, 0);
    }
  else
    {
      guint block = (guint) ceil (1.0 / g->cell - 1e-9);

      ensure_overview (self, block);
      cairo_scale (cr, g->cell * block, g->cell * block);
      cairo_set_source_surface (cr, self->overview, 0, 0);
    }
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_restore (cr);

  if (g->cell >= DOT_CELL)
    {
      draw_grid (cr, g);
      draw_connections (self, cr, g);
    }
  cairo_restore (cr);

  imp_plot_set_source (cr, fg, 0.4);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, g->left - 0.5, g->top - 0.5, g->span + 1,
                   g->span + 1);
  cairo_stroke (cr);
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
  double x = cell_x (g, col + 0.5) - size / 2;
  double y = cell_y (g, row + 0.5) - size / 2;

  if (x + size < g->left || y + size < g->top
      || x > g->left + g->span || y > g->top + g->span)
    return;

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
draw_bar_key (ImpImprintView *self,
              cairo_t        *cr,
              const Geometry *g,
              PangoLayout    *text,
              const GdkRGBA  *fg)
{
  double y = g->bar_top + g->bar_height + 22;
  g_autofree char *block = NULL;

  if (g->cell < DOT_CELL)
    {
      imp_plot_set_source (cr, fg, 0.7);
      imp_plot_text (cr, text, _("Zoom in for connection dots"), g->bar_x, y,
                     0.0, 0.5);
      if (g->cell >= 1)
        return;
      block = g_strdup_printf (_("A pixel: the largest change\n"
                                 "in %u × %u cross-points"),
                               (guint) ceil (1.0 / g->cell - 1e-9),
                               (guint) ceil (1.0 / g->cell - 1e-9));
      imp_plot_text (cr, text, block, g->bar_x, y + 12, 0.0, 0.0);
      return;
    }

  for (guint i = 0; i < 3; i++)
    {
      static const char *names[] = {
        N_("E connection"), N_("I connection"), N_("Reciprocal pair"),
      };

      draw_dot (cr, g->bar_x + BAR_WIDTH / 2, y + i * 18, 4,
                i == 1 ? 'I' : 'E', i == 2);
      imp_plot_set_source (cr, fg, 0.8);
      imp_plot_text (cr, text, _(names[i]), g->bar_x + BAR_WIDTH + 7,
                     y + i * 18, 0.0, 0.5);
    }
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
  for (guint i = 0; i <= 40; i++)
    {
      GdkRGBA rgba;

      conductance_color (i / 40.0, &rgba);
      cairo_pattern_add_color_stop_rgb (gradient, i / 40.0,
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
  draw_bar_key (self, cr, g, text, fg);
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

  /* the canvas takes keys: show when it has them */
  if (gtk_widget_has_visible_focus (GTK_WIDGET (area)))
    {
      imp_plot_rounded_rect (cr, 2, 2, width - 4, height - 4, 6);
      cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.5);
      cairo_set_line_width (cr, 2);
      cairo_stroke (cr);
    }
}

/* Zoom and pan */

/* Keeps the viewport on the matrix. */
static void
clamp_view (ImpImprintView *self)
{
  Geometry g;

  if (!get_geometry (self, &g))
    return;
  self->ox = g.ox;
  self->oy = g.oy;
}

static void
zoom_at (ImpImprintView *self,
         double          zoom,
         double          x,
         double          y)
{
  Geometry g;
  double fit, mx, my;

  if (!get_geometry (self, &g))
    return;

  fit = g.cell / self->zoom;
  zoom = CLAMP (zoom, 1.0, MAX (1.0, MAX_CELL / fit));
  x = CLAMP (x, g.left, g.left + g.span);
  y = CLAMP (y, g.top, g.top + g.span);

  /* the cross-point under (x, y) stays there */
  mx = g.ox + (x - g.left) / g.cell;
  my = g.oy + (y - g.top) / g.cell;
  self->zoom = zoom;
  self->ox = mx - (x - g.left) / (fit * zoom);
  self->oy = my - (y - g.top) / (fit * zoom);
  clamp_view (self);
  gtk_widget_queue_draw (self->canvas);
}

static void
zoom_centre (ImpImprintView *self,
             double          factor)
{
  Geometry g;

  if (!get_geometry (self, &g))
    return;
  zoom_at (self, self->zoom * factor, g.left + g.span / 2,
           g.top + g.span / 2);
}

static void
zoom_in_clicked_cb (ImpImprintView *self)
{
  zoom_centre (self, ZOOM_STEP);
}

static void
zoom_out_clicked_cb (ImpImprintView *self)
{
  zoom_centre (self, 1.0 / ZOOM_STEP);
}

static void
zoom_fit_clicked_cb (ImpImprintView *self)
{
  self->zoom = 1.0;
  self->ox = self->oy = 0.0;
  gtk_widget_queue_draw (self->canvas);
}

/* Brings the selected pair's cross-point into view when zoomed in. */
static void
reveal_selected (ImpImprintView *self)
{
  ImpCandidate *c = imp_session_get_selected_candidate (self->session);
  double visible;
  Geometry g;
  int row, col;

  if (c == NULL || self->matrix == NULL || self->zoom <= 1.0
      || !get_geometry (self, &g))
    return;
  row = imp_conductance_find_channel (self->matrix, c->pre);
  col = imp_conductance_find_channel (self->matrix, c->post);
  if (row < 0 || col < 0)
    return;

  visible = g.span / g.cell;
  if (col < g.ox || col + 1 > g.ox + visible)
    self->ox = col + 0.5 - visible / 2;
  if (row < g.oy || row + 1 > g.oy + visible)
    self->oy = row + 0.5 - visible / 2;
  clamp_view (self);
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
  double own = imp_conductance_get_change (self->matrix, row, col);
  double mirror = imp_conductance_get_change (self->matrix, col, row);
  int forward = imp_conductance_get_candidate (self->matrix, row, col);
  int backward = imp_conductance_get_candidate (self->matrix, col, row);
  g_autofree char *a = g_markup_escape_text (channel_label (self, pre), -1);
  g_autofree char *b = g_markup_escape_text (channel_label (self, post), -1);
  GString *text = g_string_new (NULL);
  const char *state = _("unchanged");
  const ImpCandidate *c;

  if (g > IMP_CONDUCTANCE_BASELINE + 1e-6)
    state = _("potentiated");
  else if (g < IMP_CONDUCTANCE_BASELINE - 1e-6)
    state = _("depressed");
  g_string_append_printf (text, _("<b>Row %s (pre), column %s (post)</b>\n"
                                  "G / Gmax = %.3f, %s"),
                          a, b, g, state);
  if (own > 0 && forward >= 0)
    {
      c = g_ptr_array_index (result->candidates, forward);
      g_string_append_printf (text, _("\n%+.3f from %s → %s (%c, %+.3f mV), "
                                      "its own cross-point"),
                              own, a, b, c->sign, c->amplitude_mv);
    }
  if (mirror > 0 && backward >= 0)
    {
      c = g_ptr_array_index (result->candidates, backward);
      g_string_append_printf (text, _("\n%+.3f as the mirror of %s → %s "
                                      "(%c, %+.3f mV)"),
                              -mirror, b, a, c->sign, c->amplitude_mv);
    }
  if (own > 0 && mirror > 0)
    g_string_append_printf (text, _("\nReciprocal pair: the two changes sum "
                                    "to %+.3f, so this cross-point ends %s"),
                            own - mirror, state);
  if (own == 0 && mirror == 0)
    g_string_append (text, _("\nNo connection either way"));

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

  self->pointer_x = x;
  self->pointer_y = y;
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
  self->press_x = x;
  self->press_y = y;
}

static void
released_cb (GtkGestureClick *gesture,
             int              n_press,
             double           x,
             double           y,
             ImpImprintView  *self)
{
  int candidate;

  gtk_widget_grab_focus (self->canvas);
  /* a press that moved was a pan, not a choice */
  if (hypot (x - self->press_x, y - self->press_y) > CLICK_SLOP)
    return;

  candidate = _imp_imprint_view_candidate_at (self, x, y);
  if (candidate >= 0)
    imp_session_set_selected (self->session, candidate);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               ImpImprintView *self)
{
  clamp_view (self);
  self->drag_ox = self->ox;
  self->drag_oy = self->oy;
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                ImpImprintView *self)
{
  Geometry g;

  if ((dx == 0 && dy == 0) || !get_geometry (self, &g))
    return;

  self->ox = self->drag_ox - dx / g.cell;
  self->oy = self->drag_oy - dy / g.cell;
  clamp_view (self);
  gtk_widget_queue_draw (self->canvas);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           ImpImprintView           *self)
{
  zoom_at (self, self->zoom * pow (1.15, -dy), self->pointer_x,
           self->pointer_y);
  return TRUE;
}

static void
pinch_begin_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                ImpImprintView   *self)
{
  self->pinch_zoom = self->zoom;
}

static void
pinch_changed_cb (GtkGestureZoom *gesture,
                  double          factor,
                  ImpImprintView *self)
{
  double x, y;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  zoom_at (self, self->pinch_zoom * factor, x, y);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                ImpImprintView        *self)
{
  if (self->matrix == NULL || (state & (GDK_CONTROL_MASK | GDK_ALT_MASK)))
    return FALSE;

  switch (keyval)
    {
    case GDK_KEY_plus:
    case GDK_KEY_equal:
    case GDK_KEY_KP_Add:
      zoom_centre (self, ZOOM_STEP);
      return TRUE;
    case GDK_KEY_minus:
    case GDK_KEY_KP_Subtract:
      zoom_centre (self, 1.0 / ZOOM_STEP);
      return TRUE;
    case GDK_KEY_0:
    case GDK_KEY_KP_0:
      zoom_fit_clicked_cb (self);
      return TRUE;
    default:
      return FALSE;
    }
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
state_changed_cb (ImpImprintView *self)
{
  if (imp_session_get_result (self->session) == NULL)
    show_status (self);
}

static void
selected_changed_cb (ImpImprintView *self)
{
  reveal_selected (self);
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
  g_signal_connect_object (self->session, "notify::recording",
                           G_CALLBACK (state_changed_cb), self,
                           G_CONNECT_SWAPPED);
  imp_plot_watch_analysing (self->session, G_CALLBACK (state_changed_cb),
                            self);
  result_changed_cb (self);
}

static void
imp_imprint_view_dispose (GObject *object)
{
  ImpImprintView *self = IMP_IMPRINT_VIEW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), IMP_TYPE_IMPRINT_VIEW);
  g_clear_pointer (&self->image, cairo_surface_destroy);
  g_clear_pointer (&self->overview, cairo_surface_destroy);
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
                                        status_page);
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView,
                                        summary);
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView,
                                        connected_only);
  gtk_widget_class_bind_template_child (widget_class, ImpImprintView, canvas);
  gtk_widget_class_bind_template_callback (widget_class, connected_only_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_in_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_out_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_fit_clicked_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "impimprintview");
}

static void
imp_imprint_view_init (ImpImprintView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->hover_row = self->hover_col = -1;
  self->zoom = 1.0;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->canvas), draw_cb,
                                  self, NULL);
  g_signal_connect (self->canvas, "query-tooltip",
                    G_CALLBACK (query_tooltip_cb), self);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_scroll_new
    (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (controller, "enter",
                            G_CALLBACK (gtk_widget_queue_draw), self->canvas);
  g_signal_connect_swapped (controller, "leave",
                            G_CALLBACK (gtk_widget_queue_draw), self->canvas);
  gtk_widget_add_controller (self->canvas, controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed",
                    G_CALLBACK (key_pressed_cb), self);
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
  gtk_widget_add_controller (self->canvas, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (pinch_begin_cb), self);
  g_signal_connect (gesture, "scale-changed",
                    G_CALLBACK (pinch_changed_cb), self);
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

  if (self->matrix == NULL || !get_geometry (self, &g))
    return FALSE;
  row = imp_conductance_find_channel (self->matrix, pre);
  col = imp_conductance_find_channel (self->matrix, post);
  if (row < 0 || col < 0)
    return FALSE;

  *x = cell_x (&g, col + 0.5);
  *y = cell_y (&g, row + 0.5);
  return *x >= g.left && *x < g.left + g.span
         && *y >= g.top && *y < g.top + g.span;
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

void
_imp_imprint_view_zoom (ImpImprintView *self,
                        double          factor,
                        double          x,
                        double          y)
{
  g_return_if_fail (IMP_IS_IMPRINT_VIEW (self));

  if (factor <= 0)
    zoom_fit_clicked_cb (self);
  else
    zoom_at (self, self->zoom * factor, x, y);
}

void
_imp_imprint_view_pan (ImpImprintView *self,
                       double          dx,
                       double          dy)
{
  g_return_if_fail (IMP_IS_IMPRINT_VIEW (self));

  drag_begin_cb (NULL, 0, 0, self);
  drag_update_cb (NULL, dx, dy, self);
}

double
_imp_imprint_view_get_cell_size (ImpImprintView *self)
{
  Geometry g;

  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), 0.0);

  if (!get_geometry (self, &g))
    return 0.0;
  return g.cell;
}

const char *
_imp_imprint_view_get_summary (ImpImprintView *self)
{
  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), NULL);

  return gtk_label_get_text (GTK_LABEL (self->summary));
}

gboolean
_imp_imprint_view_get_status (ImpImprintView *self,
                              const char    **title,
                              const char    **description)
{
  g_return_val_if_fail (IMP_IS_IMPRINT_VIEW (self), FALSE);

  *title = adw_status_page_get_title (ADW_STATUS_PAGE (self->status_page));
  *description = adw_status_page_get_description
                   (ADW_STATUS_PAGE (self->status_page));
  return g_strcmp0 (gtk_stack_get_visible_child_name
                      (GTK_STACK (self->stack)), "empty") == 0;
}
