/* test-views.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>
#include <adwaita.h>
#include <glib/gstdio.h>

#include "imp-average-plot.h"
#include "imp-candidate-item.h"
#include "imp-conductance.h"
#include "imp-histogram-view-private.h"
#include "imp-imprint-view-private.h"
#include "imp-map-view-private.h"
#include "imp-pairs-view-private.h"
#include "imp-plot.h"
#include "imp-session.h"
#include "imp-simulate.h"

#define N_CHANNELS  12
#define RATE_HZ     10000.0
#define PRE_MS      5.0
#define POST_MS     25.0

/* A small result built by hand, so the geometry is known: channels 0..11,
 * every ordered pair between cells with APs tested, a few of them
 * significant, one reciprocal pair (0 <-> 1). */
typedef struct
{
  guint    pre;
  guint    post;
  char     sign;
  double   amplitude_mv;
  gboolean ap_ap;
} Connection;

static const Connection connections[] = {
  { 0, 1, 'E', 0.8, TRUE },
  { 1, 0, 'I', -0.5, FALSE },
  { 2, 5, 'E', 0.3, FALSE },
  { 4, 9, 'I', -1.2, FALSE },
  { 6, 3, 'E', 1.5, TRUE },
  { 8, 10, 'E', 0.4, FALSE },
};

static const Connection *
find_connection (guint pre,
                 guint post)
{
  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    if (connections[i].pre == pre && connections[i].post == post)
      return &connections[i];
  return NULL;
}

static void
candidate_free (gpointer data)
{
  ImpCandidate *c = data;

  g_free (c->average);
  g_free (c->trial_amplitudes);
  g_free (c->quantal_amplitudes);
  g_free (c);
}

static ImpCandidate *
make_candidate (GRand            *rand,
                guint             pre,
                guint             post,
                const Connection *connection)
{
  ImpCandidate *c = g_new0 (ImpCandidate, 1);
  double amplitude = connection != NULL ? connection->amplitude_mv : 0.0;

  c->pre = pre;
  c->post = post;
  c->sign = connection != NULL ? connection->sign : 'E';
  c->amplitude_mv = amplitude;
  c->latency_ms = 2.0 + 0.25 * pre;
  c->rise_ms = c->decay_ms = NAN;
  c->fit = IMP_PSP_FIT_NONE;
  c->p_value = connection != NULL ? 1e-5 : 0.5;
  c->significant = connection != NULL;
  c->ap_ap_significant = connection != NULL && connection->ap_ap;
  c->ap_ap_p_value = c->ap_ap_significant ? 1e-4 : 0.4;
  c->n_pre_aps = 40 + pre;

  c->average_len = (guint) ((PRE_MS + POST_MS) * RATE_HZ / 1000.0);
  c->average = g_new (float, c->average_len);
  for (guint i = 0; i < c->average_len; i++)
    {
      double t = i * 1000.0 / RATE_HZ - PRE_MS - c->latency_ms;

      c->average[i] = t > 0 ? amplitude * 1.6 * (exp (-t / 8) - exp (-t)) : 0;
    }

  c->n_trials = c->n_pre_aps;
  c->trial_amplitudes = g_new (float, c->n_trials);
  for (guint i = 0; i < c->n_trials; i++)
    c->trial_amplitudes[i] = amplitude * g_rand_int_range (rand, 0, 4) / 1.5
                             + g_rand_double_range (rand, -0.05, 0.05);

  return c;
}

static ImpAnalysisResult *
make_result (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  ImpAnalysisResult *result = g_new0 (ImpAnalysisResult, 1);
  g_autoptr(GPtrArray) rest = g_ptr_array_new ();

  g_atomic_ref_count_init (&result->ref_count);
  result->n_channels = N_CHANNELS;
  result->sample_rate = RATE_HZ;
  imp_analysis_params_init_default (&result->params);
  result->params.window_pre_ms = PRE_MS;
  result->params.window_post_ms = POST_MS;
  result->labels = g_new0 (char *, N_CHANNELS + 1);
  result->access = g_new0 (ImpAccess, N_CHANNELS);
  result->noise_mv = g_new0 (double, N_CHANNELS);
  result->aps = g_new0 (GArray *, N_CHANNELS);
  result->psps = g_new0 (GArray *, N_CHANNELS);

  for (guint i = 0; i < N_CHANNELS; i++)
    {
      result->labels[i] = g_strdup_printf ("C%u", i);
      /* channel 11 has no access, channel 7 access but no APs */
      result->access[i] = i == 11 ? IMP_ACCESS_NONE
                                  : IMP_ACCESS_INTRACELLULAR;
      result->noise_mv[i] = 0.2;
      result->aps[i] = g_array_new (FALSE, TRUE, sizeof (ImpEvent));
      result->psps[i] = g_array_new (FALSE, TRUE, sizeof (ImpEvent));
      if (i != 11 && i != 7)
        g_array_set_size (result->aps[i], 40 + i);
    }

  result->candidates = g_ptr_array_new_with_free_func (candidate_free);
  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    g_ptr_array_add (result->candidates,
                     make_candidate (rand, connections[i].pre,
                                     connections[i].post, &connections[i]));
  for (guint pre = 0; pre < N_CHANNELS; pre++)
    for (guint post = 0; post < N_CHANNELS; post++)
      if (pre != post && result->aps[pre]->len > 0 && post != 11
          && find_connection (pre, post) == NULL)
        g_ptr_array_add (rest, make_candidate (rand, pre, post, NULL));
  for (guint i = 0; i < rest->len; i++)
    g_ptr_array_add (result->candidates, rest->pdata[i]);

  result->n_connections = G_N_ELEMENTS (connections);
  result->n_ap_ap_connections = 2;

  return result;
}

static ImpSession *
make_session (void)
{
  ImpSession *session = imp_session_new ();
  g_autoptr(ImpAnalysisResult) result = make_result ();

  imp_session_set_result (session, result);
  return session;
}

/* A result with @n_channels cells and only the candidates given, each
 * significant; the rest of the fields as make_result() sets them. */
static ImpAnalysisResult *
make_sparse_result (guint             n_channels,
                    const Connection *list,
                    guint             n_list)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  ImpAnalysisResult *result = g_new0 (ImpAnalysisResult, 1);

  g_atomic_ref_count_init (&result->ref_count);
  result->n_channels = n_channels;
  result->sample_rate = RATE_HZ;
  imp_analysis_params_init_default (&result->params);
  result->params.window_pre_ms = PRE_MS;
  result->params.window_post_ms = POST_MS;
  result->labels = g_new0 (char *, n_channels + 1);
  result->access = g_new0 (ImpAccess, MAX (n_channels, 1));
  result->noise_mv = g_new0 (double, MAX (n_channels, 1));
  result->aps = g_new0 (GArray *, MAX (n_channels, 1));
  result->psps = g_new0 (GArray *, MAX (n_channels, 1));
  for (guint i = 0; i < n_channels; i++)
    {
      result->labels[i] = g_strdup_printf ("R%uC%u", i / 32 + 1, i % 32 + 1);
      result->access[i] = IMP_ACCESS_INTRACELLULAR;
      result->aps[i] = g_array_new (FALSE, TRUE, sizeof (ImpEvent));
      result->psps[i] = g_array_new (FALSE, TRUE, sizeof (ImpEvent));
    }

  result->candidates = g_ptr_array_new_with_free_func (candidate_free);
  for (guint i = 0; i < n_list; i++)
    g_ptr_array_add (result->candidates,
                     make_candidate (rand, list[i].pre, list[i].post,
                                     &list[i]));
  result->n_connections = n_list;
  result->n_pairs_tested = (guint64) n_channels * (n_channels - 1);

  return result;
}

/* A small simulated network, analysed once for all tests: 16 neurons on a
 * 4 × 4 electrode grid, so the map places nodes at electrode positions. */
static char              *sim_dir;
static char              *sim_path;
static ImpRecording      *sim_recording;
static ImpAnalysisResult *sim_result;

static void
simulate_once (void)
{
  g_autoptr(GError) error = NULL;
  ImpAnalysisParams params;
  ImpSimParams sim;

  if (sim_result != NULL)
    return;

  sim_dir = g_dir_make_tmp ("imp-test-views-XXXXXX", &error);
  g_assert_no_error (error);
  sim_path = g_build_filename (sim_dir, "sim.h5", NULL);

  imp_sim_params_init_default (&sim);
  sim.n_neurons = 16;
  sim.duration_s = 40.0;
  sim.seed = 7;
  sim.connection_prob = 0.15;
  g_assert_true (imp_simulate (&sim, sim_path, NULL, NULL, NULL, NULL,
                               &error));
  g_assert_no_error (error);

  sim_recording = imp_recording_open (sim_path, &error);
  g_assert_no_error (error);
  imp_analysis_params_init_default (&params);
  sim_result = imp_analysis_run (sim_recording, &params, NULL, NULL, NULL,
                                 &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sim_result->n_connections, >, 2);
}

static void
simulation_clear (void)
{
  g_clear_pointer (&sim_result, imp_analysis_result_unref);
  g_clear_pointer (&sim_recording, imp_recording_unref);
  if (sim_path != NULL)
    g_remove (sim_path);
  if (sim_dir != NULL)
    g_rmdir (sim_dir);
  g_clear_pointer (&sim_path, g_free);
  g_clear_pointer (&sim_dir, g_free);
}

static ImpSession *
make_simulated_session (void)
{
  ImpSession *session = imp_session_new ();

  simulate_once ();
  imp_session_set_recording (session, sim_recording);
  imp_session_set_result (session, sim_result);
  return session;
}

/* Window helpers */

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static GtkWidget *
show_in_window (GtkWidget *view,
                GtkWidget *canvas)
{
  GtkWidget *window = gtk_window_new ();
  gboolean timed_out = FALSE;
  guint source;

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));

  source = g_timeout_add_seconds (10, timeout_cb, &timed_out);
  while (!timed_out
         && (!gtk_widget_get_mapped (canvas)
             || gtk_widget_get_width (canvas) < 100))
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (source);

  /* let the first frame draw */
  wait_ms (100);
  return window;
}

/* Renders @widget as its window would, and counts the pixels that differ
 * from the most common (background) colour. */
static double
rendered_fraction (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GHashTable) colours = NULL;
  g_autofree guint32 *pixels = NULL;
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GskRenderer *renderer;
  guint most = 0;

  /* let a pending redraw happen first */
  wait_ms (50);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_to_node (snapshot);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0,
                                                              width, height));
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) pixels, width * 4);

  colours = g_hash_table_new (NULL, NULL);
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      gpointer key = GUINT_TO_POINTER (pixels[i]);
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (colours, key)) + 1;

      g_hash_table_insert (colours, key, GUINT_TO_POINTER (count));
      most = MAX (most, count);
    }

  g_assert_cmpuint (g_hash_table_size (colours), >, 16);
  return 1.0 - (double) most / ((double) width * height);
}

/* Renders @widget and returns its pixels as 0xAARRGGBB. */
static guint32 *
render_pixels (GtkWidget *widget,
               int       *width,
               int       *height)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  guint32 *pixels;
  GskRenderer *renderer;

  wait_ms (50);
  *width = gtk_widget_get_width (widget);
  *height = gtk_widget_get_height (widget);
  gdk_paintable_snapshot (paintable, snapshot, *width, *height);
  node = gtk_snapshot_to_node (snapshot);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, *width,
                                                              *height));
  *width = gdk_texture_get_width (texture);
  *height = gdk_texture_get_height (texture);
  pixels = g_new (guint32, (gsize) *width * *height);
  gdk_texture_download (texture, (guchar *) pixels, *width * 4);
  return pixels;
}

/* The tests hold the only reference on their views besides the window. */
static void
close_window (GtkWidget *window,
              GtkWidget *view)
{
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (view);
}

/* Tests */

static guint
position_of (GListModel *model,
             guint       index)
{
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ImpCandidateItem) item = g_list_model_get_item (model, i);

      if (imp_candidate_item_get_index (item) == index)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

static void
test_pairs_selection (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_pairs_view_new (session));
  GtkSingleSelection *selection;
  GListModel *model;
  ImpAnalysisResult *result = imp_session_get_result (session);
  ImpCandidateItem *item;
  guint position;

  selection = _imp_pairs_view_get_selection (IMP_PAIRS_VIEW (view));
  model = G_LIST_MODEL (selection);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==,
                    result->candidates->len);

  /* list -> session */
  position = position_of (model, 3);
  g_assert_cmpuint (position, !=, GTK_INVALID_LIST_POSITION);
  gtk_single_selection_set_selected (selection, position);
  g_assert_cmpint (imp_session_get_selected (session), ==, 3);

  /* session -> list */
  imp_session_set_selected (session, 5);
  item = gtk_single_selection_get_selected_item (selection);
  g_assert_nonnull (item);
  g_assert_cmpuint (imp_candidate_item_get_index (item), ==, 5);

  /* sorting by a column's header */
  _imp_pairs_view_sort_by (IMP_PAIRS_VIEW (view), "amplitude",
                           GTK_SORT_ASCENDING);
  for (guint i = 1; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ImpCandidateItem) a = g_list_model_get_item (model, i - 1);
      g_autoptr(ImpCandidateItem) b = g_list_model_get_item (model, i);

      g_assert_cmpfloat (imp_candidate_item_get_candidate (a)->amplitude_mv,
                         <=,
                         imp_candidate_item_get_candidate (b)->amplitude_mv);
    }
  _imp_pairs_view_sort_by (IMP_PAIRS_VIEW (view), "pre-label",
                           GTK_SORT_DESCENDING);
  for (guint i = 1; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ImpCandidateItem) a = g_list_model_get_item (model, i - 1);
      g_autoptr(ImpCandidateItem) b = g_list_model_get_item (model, i);

      g_assert_cmpint (g_utf8_collate (imp_candidate_item_get_pre_label (a),
                                       imp_candidate_item_get_pre_label (b)),
                       >=, 0);
    }
  /* the selection stays on its candidate through a new order */
  item = gtk_single_selection_get_selected_item (selection);
  g_assert_nonnull (item);
  g_assert_cmpuint (imp_candidate_item_get_index (item), ==, 5);

  /* filters: significant only, then by label */
  _imp_pairs_view_set_filter (IMP_PAIRS_VIEW (view), "", TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==,
                    G_N_ELEMENTS (connections));
  _imp_pairs_view_set_filter (IMP_PAIRS_VIEW (view), "c4", FALSE);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ImpCandidateItem) it = g_list_model_get_item (model, i);
      const ImpCandidate *c = imp_candidate_item_get_candidate (it);

      g_assert_true (c->pre == 4 || c->post == 4);
    }
  /* a filter is not a choice: the session keeps its selection */
  g_assert_cmpint (imp_session_get_selected (session), ==, 5);

  g_assert_finalize_object (view);
  g_assert_finalize_object (session);
}

static void
test_map_hit (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_map_view_new (session));
  GtkWidget *canvas = _imp_map_view_get_canvas (IMP_MAP_VIEW (view));
  GtkWidget *window = show_in_window (view, canvas);
  ImpAnalysisResult *result = imp_session_get_result (session);
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;

  /* no recording, so no electrode positions: a circle */
  g_assert_false (_imp_map_view_has_positions (IMP_MAP_VIEW (view)));

  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    {
      double x, y;

      g_assert_true (_imp_map_view_get_edge_midpoint (IMP_MAP_VIEW (view), i,
                                                      &x, &y));
      g_assert_cmpint (_imp_map_view_candidate_at (IMP_MAP_VIEW (view), x, y),
                       ==, i);
      /* within the click tolerance, a few pixels off the curve */
      g_assert_cmpint (_imp_map_view_candidate_at (IMP_MAP_VIEW (view),
                                                   x + 2, y - 2), ==, i);
    }

  /* the reciprocal pair bows apart */
  _imp_map_view_get_edge_midpoint (IMP_MAP_VIEW (view), 0, &x0, &y0);
  _imp_map_view_get_edge_midpoint (IMP_MAP_VIEW (view), 1, &x1, &y1);
  g_assert_cmpfloat (hypot (x1 - x0, y1 - y0), >, 8.0);

  /* nothing at a corner, and non-significant candidates have no edge */
  g_assert_cmpint (_imp_map_view_candidate_at (IMP_MAP_VIEW (view), 1, 1),
                   ==, -1);
  g_assert_false (_imp_map_view_get_edge_midpoint
                    (IMP_MAP_VIEW (view), result->candidates->len - 1,
                     &x0, &y0));

  /* keyboard: Tab walks the edges in order, then lets the focus move on;
   * the arrow keys wrap around */
  imp_session_set_selected (session, -1);
  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    {
      g_assert_true (_imp_map_view_step (IMP_MAP_VIEW (view), 1, FALSE));
      g_assert_cmpint (imp_session_get_selected (session), ==, i);
    }
  g_assert_false (_imp_map_view_step (IMP_MAP_VIEW (view), 1, FALSE));
  g_assert_true (_imp_map_view_step (IMP_MAP_VIEW (view), 1, TRUE));
  g_assert_cmpint (imp_session_get_selected (session), ==, 0);
  g_assert_true (_imp_map_view_step (IMP_MAP_VIEW (view), -1, TRUE));
  g_assert_cmpint (imp_session_get_selected (session), ==,
                   G_N_ELEMENTS (connections) - 1);

  g_assert_cmpfloat (rendered_fraction (canvas), >, 0.01);
  _imp_map_view_set_show_ap_ap (IMP_MAP_VIEW (view), TRUE);
  wait_ms (50);
  g_assert_cmpfloat (rendered_fraction (canvas), >, 0.01);

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_imprint_cells (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_imprint_view_new (session));
  ImpImprintView *imprint = IMP_IMPRINT_VIEW (view);
  GtkWidget *canvas = _imp_imprint_view_get_canvas (imprint);
  GtkWidget *window = show_in_window (view, canvas);

  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    {
      const Connection *c = &connections[i];
      double x, y;

      g_assert_true (_imp_imprint_view_get_cell_centre (imprint, c->pre,
                                                        c->post, &x, &y));
      g_assert_cmpint (_imp_imprint_view_candidate_at (imprint, x, y), ==, i);
    }

  /* a one-way connection is potentiated, its mirror depressed, the rest
   * stays at the baseline */
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 4, 9), >,
                     0.9);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 9, 4), <,
                     0.1);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 2, 5), >,
                     0.5);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 5, 2), <,
                     0.5);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 3, 9), ==,
                     0.5);
  /* the stronger the PSP, the higher the conductance */
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 6, 3), >,
                     _imp_imprint_view_get_conductance (imprint, 8, 10));

  /* clicking outside the matrix selects nothing */
  g_assert_cmpint (_imp_imprint_view_candidate_at (imprint, 1, 1), ==, -1);

  g_assert_cmpfloat (rendered_fraction (canvas), >, 0.05);

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_histogram_bins (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_histogram_view_new (session));
  ImpHistogramView *histogram = IMP_HISTOGRAM_VIEW (view);
  GtkWidget *window;
  const guint *counts;
  ImpCandidate *c;
  guint n_bins = 0;
  guint sum;
  double width;

  counts = _imp_histogram_view_get_bins (histogram, &n_bins, NULL, NULL);
  g_assert_null (counts);

  imp_session_set_selected (session, 3);
  c = imp_session_get_selected_candidate (session);
  for (guint k = 0; k < 3; k++)
    {
      if (k > 0)
        _imp_histogram_view_set_bin_width (histogram, k == 1 ? 0.05 : 0.3);
      counts = _imp_histogram_view_get_bins (histogram, &n_bins, NULL,
                                             &width);
      g_assert_nonnull (counts);
      g_assert_cmpuint (n_bins, >, 0);
      sum = 0;
      for (guint i = 0; i < n_bins; i++)
        sum += counts[i];
      g_assert_cmpuint (sum, ==, c->n_trials);
      if (k == 1)
        g_assert_cmpfloat (fabs (width - 0.05), <, 1e-9);
    }

  window = show_in_window (view, view);
  g_assert_cmpfloat (rendered_fraction (view), >, 0.02);

  close_window (window, view);
  g_assert_finalize_object (session);
}

/* A pair whose amplitudes come from binomial release (q 0.5 mV, n 3,
 * p 0.5): the fit is drawn over them, scaled to the bins; the caption
 * says what the core says. Inhibitory: the same, mirrored. */
static void
test_histogram_quanta (void)
{
  static const Connection pair[] = { { 0, 1, 'E', 0.75, FALSE } };

  for (int sign = 1; sign >= -1; sign -= 2)
    {
      g_autoptr(ImpAnalysisResult) result = make_sparse_result (2, pair, 1);
      g_autoptr(GRand) rand = g_rand_new_with_seed (3);
      g_autofree char *expected = NULL;
      g_autofree char *text = NULL;
      ImpSession *session = imp_session_new ();
      GtkWidget *view = g_object_ref_sink (imp_histogram_view_new (session));
      ImpHistogramView *histogram = IMP_HISTOGRAM_VIEW (view);
      ImpQuantalParams params;
      ImpCandidate *c = g_ptr_array_index (result->candidates, 0);
      const guint *counts;
      guint n_bins, sum = 0, n = 150;
      double origin, width, fitted = 0, misfit = 0;
      GtkWidget *window;

      c->sign = sign > 0 ? 'E' : 'I';
      c->quantal_amplitudes = g_new (float, n);
      c->n_quantal_trials = n;
      for (guint i = 0; i < n; i++)
        {
          double noise;
          guint k = 0;

          for (guint site = 0; site < 3; site++)
            k += g_rand_double (rand) < 0.5;
          /* Box-Muller, SD 0.06 mV */
          noise = 0.06 * sqrt (-2 * log (1 - g_rand_double (rand)))
                  * cos (2 * G_PI * g_rand_double (rand));
          c->quantal_amplitudes[i] = (float) (sign * (0.5 * k + noise));
        }
      imp_quantal_params_init_default (&params);
      imp_quantal_fit (c->quantal_amplitudes, n, sign, NAN, &params, 0,
                       &c->quantal);
      g_assert_cmpint (c->quantal.verdict, ==, IMP_QUANTAL_QUANTA);

      imp_session_set_result (session, result);
      imp_session_set_selected (session, 0);
      g_assert_true (_imp_histogram_view_draws_quanta (histogram));
      text = imp_quantal_fit_describe (&c->quantal);
      expected = g_strdup_printf ("Quantal fit: %s", text);
      g_assert_cmpstr (_imp_histogram_view_get_quantal_text (histogram), ==,
                       expected);

      /* bins narrow enough to show the peaks; every amplitude counted */
      counts = _imp_histogram_view_get_bins (histogram, &n_bins, &origin,
                                             &width);
      g_assert_cmpfloat (width, <=, c->quantal.q_mv / 5 + 1e-9);
      for (guint b = 0; b < n_bins; b++)
        {
          double centre = origin + (b + 0.5) * width;
          double expect = _imp_histogram_view_fit_count
                            (histogram, IMP_QUANTAL_DENSITY_BINOMIAL, centre);

          sum += counts[b];
          fitted += expect;
          misfit += fabs (expect - counts[b]);
        }
      g_assert_cmpuint (sum, ==, n);
      /* the curve holds the trials and follows the bars */
      g_assert_cmpfloat (fabs (fitted - n), <, 0.03 * n);
      g_assert_cmpfloat (misfit, <, 0.4 * n);
      /* peaks on the side of the sign, a dip between them */
      g_assert_cmpfloat (_imp_histogram_view_fit_count
                           (histogram, IMP_QUANTAL_DENSITY_BINOMIAL,
                            sign * 0.5), >,
                         5 * _imp_histogram_view_fit_count
                               (histogram, IMP_QUANTAL_DENSITY_BINOMIAL,
                                sign * 0.25));
      g_assert_cmpfloat (_imp_histogram_view_fit_count
                           (histogram, IMP_QUANTAL_DENSITY_BINOMIAL,
                            -sign * 0.5), <, 0.01);

      window = show_in_window (view, view);
      g_assert_cmpfloat (rendered_fraction (view), >, 0.02);
      close_window (window, view);
      g_assert_finalize_object (session);
    }
}

/* A candidate that is not a significant connection is not fitted: the
 * caption says so plainly and no curve is drawn over its amplitudes. */
static void
test_histogram_not_significant (void)
{
  static const Connection pair[] = { { 0, 1, 'E', 0.75, FALSE } };
  g_autoptr(ImpAnalysisResult) result = make_sparse_result (2, pair, 1);
  ImpSession *session = imp_session_new ();
  GtkWidget *view = g_object_ref_sink (imp_histogram_view_new (session));
  ImpHistogramView *histogram = IMP_HISTOGRAM_VIEW (view);
  ImpCandidate *c = g_ptr_array_index (result->candidates, 0);
  guint n = 150;

  c->significant = FALSE;
  c->quantal_amplitudes = g_new (float, n);
  c->n_quantal_trials = n;
  for (guint i = 0; i < n; i++)
    c->quantal_amplitudes[i] = (float) (0.5 * (i % 3) + 0.01 * (i % 7));
  imp_quantal_fit_skip (c->quantal_amplitudes, n, 1,
                        IMP_QUANTAL_NOT_SIGNIFICANT, &c->quantal);

  imp_session_set_result (session, result);
  imp_session_set_selected (session, 0);
  g_assert_false (_imp_histogram_view_draws_quanta (histogram));
  g_assert_cmpstr (_imp_histogram_view_get_quantal_text (histogram), ==,
                   "No quantal fit: not a significant connection (only "
                   "significant connections are fitted)");
  g_assert_true (isnan (_imp_histogram_view_fit_count
                          (histogram, IMP_QUANTAL_DENSITY_BINOMIAL, 0.5)));
  g_object_unref (view);
  g_assert_finalize_object (session);
}

static void
test_pairs_render (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_pairs_view_new (session));
  GtkWidget *window = show_in_window (view, view);

  imp_session_set_selected (session, 0);
  wait_ms (50);
  g_assert_cmpfloat (rendered_fraction (view), >, 0.02);

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_empty (void)
{
  ImpSession *session = imp_session_new ();
  GtkWidget *views[] = {
    g_object_ref_sink (imp_pairs_view_new (session)),
    g_object_ref_sink (imp_histogram_view_new (session)),
    g_object_ref_sink (imp_map_view_new (session)),
    g_object_ref_sink (imp_imprint_view_new (session)),
  };

  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      GtkWidget *window = show_in_window (views[i], views[i]);

      /* the status page's text and icon */
      g_assert_cmpfloat (rendered_fraction (views[i]), >, 0.001);
      close_window (window, views[i]);
    }

  g_assert_finalize_object (session);
}

/* The same checks on a simulated and analysed recording */

static void
test_simulated_selection (void)
{
  ImpSession *session = make_simulated_session ();
  GtkWidget *pairs = g_object_ref_sink (imp_pairs_view_new (session));
  GtkWidget *map = g_object_ref_sink (imp_map_view_new (session));
  GtkSingleSelection *selection;
  guint last = sim_result->candidates->len - 1;
  guint position;

  selection = _imp_pairs_view_get_selection (IMP_PAIRS_VIEW (pairs));
  position = position_of (G_LIST_MODEL (selection), last);
  gtk_single_selection_set_selected (selection, position);
  g_assert_cmpint (imp_session_get_selected (session), ==, last);

  /* a new result clears the selection, and the list follows */
  imp_session_set_result (session, NULL);
  g_assert_cmpint (imp_session_get_selected (session), ==, -1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==,
                    0);
  imp_session_set_result (session, sim_result);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==,
                    sim_result->candidates->len);

  g_assert_finalize_object (pairs);
  g_assert_finalize_object (map);
  g_assert_finalize_object (session);
}

static void
test_simulated_map (void)
{
  ImpSession *session = make_simulated_session ();
  GtkWidget *view = g_object_ref_sink (imp_map_view_new (session));
  GtkWidget *canvas = _imp_map_view_get_canvas (IMP_MAP_VIEW (view));
  GtkWidget *window = show_in_window (view, canvas);
  guint n_edges = 0;

  /* the simulator puts every neuron on an electrode */
  g_assert_true (_imp_map_view_has_positions (IMP_MAP_VIEW (view)));

  for (guint i = 0; i < sim_result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);
      double x, y;

      g_assert_cmpint (_imp_map_view_get_edge_midpoint (IMP_MAP_VIEW (view),
                                                        i, &x, &y),
                       ==, c->significant);
      if (!c->significant)
        continue;
      g_assert_cmpint (_imp_map_view_candidate_at (IMP_MAP_VIEW (view), x, y),
                       ==, i);
      n_edges++;
    }
  g_assert_cmpuint (n_edges, ==, sim_result->n_connections);

  imp_session_set_selected (session, 0);
  g_assert_cmpfloat (rendered_fraction (canvas), >, 0.01);

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_simulated_imprint (void)
{
  ImpSession *session = make_simulated_session ();
  GtkWidget *view = g_object_ref_sink (imp_imprint_view_new (session));
  ImpImprintView *imprint = IMP_IMPRINT_VIEW (view);
  GtkWidget *window = show_in_window (view,
                                      _imp_imprint_view_get_canvas (imprint));

  for (guint i = 0; i < sim_result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);
      double x, y;

      g_assert_true (_imp_imprint_view_get_cell_centre (imprint, c->pre,
                                                        c->post, &x, &y));
      g_assert_cmpint (_imp_imprint_view_candidate_at (imprint, x, y), ==, i);
    }

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_simulated_histogram (void)
{
  ImpSession *session = make_simulated_session ();
  GtkWidget *view = g_object_ref_sink (imp_histogram_view_new (session));

  for (guint i = 0; i < sim_result->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);
      const guint *counts;
      guint n_finite = 0;
      guint n_bins = 0;
      guint sum = 0;

      imp_session_set_selected (session, i);
      /* the amplitudes the quantal fit used, where there are any */
      if (c->n_quantal_trials > 0)
        for (guint k = 0; k < c->n_quantal_trials; k++)
          n_finite += isfinite (c->quantal_amplitudes[k]);
      else
        for (guint k = 0; k < c->n_trials; k++)
          n_finite += isfinite (c->trial_amplitudes[k]);
      counts = _imp_histogram_view_get_bins (IMP_HISTOGRAM_VIEW (view),
                                             &n_bins, NULL, NULL);
      if (n_finite == 0)
        {
          g_assert_null (counts);
          continue;
        }
      for (guint b = 0; b < n_bins; b++)
        sum += counts[b];
      g_assert_cmpuint (sum, ==, n_finite);
    }

  g_assert_finalize_object (view);
  g_assert_finalize_object (session);
}

static void
test_simulated_render (void)
{
  ImpSession *session = make_simulated_session ();
  GtkWidget *views[] = {
    g_object_ref_sink (imp_pairs_view_new (session)),
    g_object_ref_sink (imp_histogram_view_new (session)),
    g_object_ref_sink (imp_map_view_new (session)),
    g_object_ref_sink (imp_imprint_view_new (session)),
  };

  imp_session_set_selected (session, 0);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      GtkWidget *window = show_in_window (views[i], views[i]);

      g_assert_cmpfloat (rendered_fraction (views[i]), >, 0.02);
      close_window (window, views[i]);
    }

  g_assert_finalize_object (session);
}

/* Issues found by using the views */

static void
test_format_p (void)
{
  static const struct
  {
    double      p;
    double      alpha;
    const char *text;
  } cases[] = {
    { 0.00141, 0.001, "0.00141" },
    { 0.206, 0.001, "0.206" },
    { 1.0, 0.001, "1.00" },
    { 3.4e-98, 0.001, "3.40e-98" },
    { 0.001, 0.001, "0.00100" },
    /* three digits would show alpha itself: more */
    { 0.0010004, 0.001, "0.0010004" },
    { 0.00099996, 0.001, "9.9996e-04" },
    { 0.0010004, 0, "0.00100" },
    /* an underflowed tail is no p of 0 */
    { 0, 0.001, "< 1e-300" },
    { 2e-310, 0.001, "< 1e-300" },
  };
  ImpCandidate c = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = imp_plot_format_p (cases[i].p, cases[i].alpha);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
  g_assert_cmpstr (imp_plot_format_p (NAN, 0.001), ==, "—");
  /* after "p ": a relation that reads right either way */
  {
    g_autofree char *equal = imp_plot_format_p_relation (0.00141, 0.001);
    g_autofree char *below = imp_plot_format_p_relation (0, 0.001);

    g_assert_cmpstr (equal, ==, "= 0.00141");
    /* markup, as the views use it: the "<" escaped */
    g_assert_cmpstr (below, ==, "&lt; 1e-300");
  }

  c.n_trials = 10;
  c.latency_ms = 1.5;
  g_assert_true (imp_plot_has_latency (&c));
  g_assert_cmpstr (imp_plot_format_latency (&c), ==, "1.50");
  /* the analysis clamps an onset before the AP to 0: no estimate */
  c.latency_ms = 0.0;
  g_assert_false (imp_plot_has_latency (&c));
  g_assert_cmpstr (imp_plot_format_latency (&c), ==, "—");
  c.latency_ms = NAN;
  g_assert_false (imp_plot_has_latency (&c));
  c.latency_ms = 2.0;
  c.n_trials = 0;
  g_assert_false (imp_plot_has_latency (&c));
}

/* The verdict column says why a pair with a small p is no synapse, as
 * the detail pane does; each flag set by hand on a candidate of its own. */
static void
test_pairs_verdict (void)
{
  ImpSession *session = make_session ();
  ImpAnalysisResult *result = imp_session_get_result (session);
  GtkWidget *view;
  struct { guint index; const char *verdict; const char *reason; } cases[] = {
    { 0, "<b>Synapse</b>", NULL },
    { 1, "Artefact", "withdrawn: the postsynaptic signal moves before" },
    { 2, "Common input", "withdrawn: the postsynaptic cell already moves" },
    { 3, "Chain", "withdrawn: its PSPs start at no fixed latency" },
    { 5, "Explained", "withdrawn: another input of the postsynaptic cell "
                      "explains it (mostly C2): with their PSPs regressed "
                      "out of each trial, +0.012 mV is left (z = 0.4)" },
    { 4, "n.s.", NULL },
  };
  const char *sorted[] = { "<b>Synapse</b>", "Chain", "Explained",
                           "Common input", "Artefact", "n.s." };
  ImpCandidate *c;

  for (guint i = 0; i < 6; i++)
    {
      c = g_ptr_array_index (result->candidates, i);
      g_assert_true (c->significant);
      c->significant = i == 0;
      c->p_value = MIN (c->p_value, result->params.alpha / 2);
    }
  ((ImpCandidate *) g_ptr_array_index (result->candidates, 1))->artefact = TRUE;
  ((ImpCandidate *) g_ptr_array_index (result->candidates, 2))->common_input = TRUE;
  ((ImpCandidate *) g_ptr_array_index (result->candidates, 3))->polysynaptic = TRUE;
  c = g_ptr_array_index (result->candidates, 5);
  c->explained = TRUE;
  c->explained_by = 2;
  c->direct_mv = 0.012;
  c->direct_z = 0.4;
  view = g_object_ref_sink (imp_pairs_view_new (session));
  _imp_pairs_view_sort_by (IMP_PAIRS_VIEW (view), "p-value",
                           GTK_SORT_ASCENDING);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      c = g_ptr_array_index (result->candidates, cases[i].index);
      imp_session_set_selected (session, (int) cases[i].index);
      for (guint row = 0; ; row++)
        {
          g_autoptr(ImpCandidateItem) item
            = g_list_model_get_item (G_LIST_MODEL
                                       (_imp_pairs_view_get_selection
                                          (IMP_PAIRS_VIEW (view))), row);
          g_autofree char *verdict = NULL;

          g_assert_nonnull (item);
          if (imp_candidate_item_get_candidate (item) != c)
            continue;
          verdict = _imp_pairs_view_get_cell (IMP_PAIRS_VIEW (view), row,
                                              "Verdict");
          g_assert_cmpstr (verdict, ==, cases[i].verdict);
          break;
        }
      if (cases[i].reason != NULL)
        g_assert_nonnull (strstr (_imp_pairs_view_get_detail
                                    (IMP_PAIRS_VIEW (view)),
                                  cases[i].reason));
    }
  g_assert_null (_imp_pairs_view_get_cell (IMP_PAIRS_VIEW (view), 0,
                                           "No such column"));

  /* Sorted by verdict, each kind together, in the order of the list:
   * the one synapse left among these six first, n.s. last. */
  for (guint i = 6; i < result->candidates->len; i++)
    {
      c = g_ptr_array_index (result->candidates, i);
      c->significant = FALSE;
      c->artefact = c->common_input = c->polysynaptic = FALSE;
      c->explained = FALSE;
    }
  g_clear_object (&view);
  view = g_object_ref_sink (imp_pairs_view_new (session));
  _imp_pairs_view_sort_by (IMP_PAIRS_VIEW (view), "verdict",
                           GTK_SORT_ASCENDING);
  for (guint row = 0, k = 0; row < result->candidates->len; row++)
    {
      g_autofree char *verdict = _imp_pairs_view_get_cell
                                   (IMP_PAIRS_VIEW (view), row, "Verdict");

      while (k < G_N_ELEMENTS (sorted) && g_strcmp0 (verdict, sorted[k]) != 0)
        k++;
      g_assert_cmpuint (k, <, G_N_ELEMENTS (sorted));
    }

  g_assert_finalize_object (view);
  g_assert_finalize_object (session);
}

static void
test_pairs_detail (void)
{
  ImpSession *session = make_session ();
  ImpAnalysisResult *result = imp_session_get_result (session);
  ImpCandidate *c = g_ptr_array_index (result->candidates, 7);
  GtkWidget *view;
  const char *detail;

  /* just above alpha, with no latency estimate */
  c->p_value = 0.00141;
  c->significant = FALSE;
  c->latency_ms = 0.0;
  view = g_object_ref_sink (imp_pairs_view_new (session));
  imp_session_set_selected (session, 7);
  detail = _imp_pairs_view_get_detail (IMP_PAIRS_VIEW (view));
  g_assert_nonnull (strstr (detail, "p = 0.00141 (corrected)"));
  g_assert_nonnull (strstr (detail, "not significant"));
  g_assert_nonnull (strstr (detail, "no latency estimate"));
  g_assert_null (strstr (detail, "0.00 ms"));
  /* the threshold that "not significant" refers to is said */
  g_assert_nonnull (strstr (detail, "Significant at p ≤ 0.001, corrected"));

  /* a p-value that underflowed: shown, in the detail and the list (the
   * labels take markup, where a bare "<" would blank them) */
  c->p_value = 0;
  imp_session_set_selected (session, 6);
  imp_session_set_selected (session, 7);
  detail = _imp_pairs_view_get_detail (IMP_PAIRS_VIEW (view));
  g_assert_nonnull (strstr (detail, "p < 1e-300 (corrected)"));
  for (guint row = 0; ; row++)
    {
      g_autoptr(ImpCandidateItem) item
        = g_list_model_get_item (G_LIST_MODEL (_imp_pairs_view_get_selection
                                                 (IMP_PAIRS_VIEW (view))),
                                 row);
      g_autofree char *cell = NULL;
      g_autofree char *plain = NULL;

      g_assert_nonnull (item);
      if (imp_candidate_item_get_candidate (item) != c)
        continue;
      cell = _imp_pairs_view_get_cell (IMP_PAIRS_VIEW (view), row, "p");
      g_assert_true (pango_parse_markup (cell, -1, 0, NULL, &plain, NULL,
                                         NULL));
      g_assert_cmpstr (plain, ==, "< 1e-300");
      break;
    }
  c->p_value = 0.00141;

  /* with a fitted PSP: its onset, rise and decay */
  c->latency_ms = 2.5;
  c->rise_ms = 0.557;
  c->decay_ms = 10.91;
  imp_session_set_selected (session, 6);
  imp_session_set_selected (session, 7);
  detail = _imp_pairs_view_get_detail (IMP_PAIRS_VIEW (view));
  g_assert_nonnull (strstr (detail, "latency 2.50 ms · rise 0.56 ms · "
                            "decay 10.9 ms"));
  g_assert_null (strstr (detail, "isolated"));
  /* from the isolated trials' fit: said so */
  c->kinetics_isolated = TRUE;
  imp_session_set_selected (session, 6);
  imp_session_set_selected (session, 7);
  detail = _imp_pairs_view_get_detail (IMP_PAIRS_VIEW (view));
  g_assert_nonnull (strstr (detail, "ms (isolated trials)"));

  g_assert_finalize_object (view);
  g_assert_finalize_object (session);
}

/* Dark pixels (the foreground's thin lines and text) of @plot. */
static guint
dark_pixels (GtkWidget *plot)
{
  g_autofree guint32 *pixels = NULL;
  int width, height;
  guint n = 0;

  pixels = render_pixels (plot, &width, &height);
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      guint32 p = pixels[i];
      guint a = p >> 24, r = (p >> 16) & 0xff, g = (p >> 8) & 0xff;
      guint b = p & 0xff;

      /* premultiplied: an opaque dark pixel, not the clear background */
      n += a > 160 && r + g + b < 3 * 90;
    }
  return n;
}

/* The average plot draws the PSP fitted to the average (fitted here by
 * imp_psp_fit() on the candidate's own average) as a thin line with a
 * key, and nothing of the kind without a fit. */
static void
test_average_fit (void)
{
  ImpSession *session = make_session ();
  ImpAnalysisResult *result = imp_session_get_result (session);
  ImpCandidate *c = g_ptr_array_index (result->candidates, 0);
  GtkWidget *plot = imp_average_plot_new ();
  GtkWidget *window;
  guint with_fit, without;

  g_object_ref_sink (plot);
  g_assert_true (c->significant && c->average != NULL);
  g_assert_true (imp_psp_fit (c->average, c->average_len,
                              (gint64) (PRE_MS * RATE_HZ / 1000), RATE_HZ,
                              c->sign == 'I' ? -1 : 1, 0.5, 10, &c->fit));
  g_assert_cmpfloat (fabs (c->fit.onset_ms - c->latency_ms), <, 0.2);
  imp_average_plot_set_candidate (IMP_AVERAGE_PLOT (plot), result, 0);
  window = show_in_window (plot, plot);
  with_fit = dark_pixels (plot);

  c->fit = IMP_PSP_FIT_NONE;
  gtk_widget_queue_draw (plot);
  without = dark_pixels (plot);
  g_test_message ("dark pixels with the fit %u, without %u", with_fit,
                  without);
  g_assert_cmpuint (with_fit, >, without + 200);

  close_window (window, plot);
  g_assert_finalize_object (session);
}

static void
test_pairs_columns (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_pairs_view_new (session));
  GtkWidget *column_view = _imp_pairs_view_get_column_view
                             (IMP_PAIRS_VIEW (view));
  GtkWidget *window = show_in_window (view, view);
  GListModel *columns;
  int min = 0;

  /* at the size the tester saw a clipped "Significant", every column fits
   * beside the detail pane */
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 900);
  wait_ms (200);
  gtk_widget_measure (column_view, GTK_ORIENTATION_HORIZONTAL, -1, &min,
                      NULL, NULL, NULL);
  g_assert_cmpint (min, <=,
                   gtk_widget_get_width (gtk_widget_get_parent
                                           (column_view)));

  /* numbers in fixed columns, the labels share the rest */
  columns = gtk_column_view_get_columns (GTK_COLUMN_VIEW (column_view));
  for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
    {
      g_autoptr(GtkColumnViewColumn) col = g_list_model_get_item (columns, i);

      if (i < 2)
        g_assert_true (gtk_column_view_column_get_expand (col));
      else
        g_assert_cmpint (gtk_column_view_column_get_fixed_width (col), >,
                         20);
    }

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
check_status (GtkWidget  *view,
              const char *title,
              const char *in_description)
{
  const char *t = NULL;
  const char *d = NULL;
  gboolean shown;

  if (IMP_IS_PAIRS_VIEW (view))
    shown = _imp_pairs_view_get_status (IMP_PAIRS_VIEW (view), &t, &d);
  else if (IMP_IS_MAP_VIEW (view))
    shown = _imp_map_view_get_status (IMP_MAP_VIEW (view), &t, &d);
  else
    shown = _imp_imprint_view_get_status (IMP_IMPRINT_VIEW (view), &t, &d);

  g_assert_true (shown);
  if (title != NULL)
    g_assert_cmpstr (t, ==, title);
  if (in_description != NULL && strstr (d, in_description) == NULL)
    g_error ("status \"%s\" lacks \"%s\"", d, in_description);
}

static void
test_empty_states (void)
{
  ImpSession *session = imp_session_new ();
  g_autoptr(ImpAnalysisResult) none = make_sparse_result (12, NULL, 0);
  g_autoptr(ImpAnalysisResult) single = make_sparse_result (1, NULL, 0);
  GtkWidget *views[] = {
    g_object_ref_sink (imp_pairs_view_new (session)),
    g_object_ref_sink (imp_map_view_new (session)),
    g_object_ref_sink (imp_imprint_view_new (session)),
  };
  gboolean has_analyzing =
    g_object_class_find_property (G_OBJECT_GET_CLASS (session),
                                  "analyzing") != NULL;
  const char *title = NULL, *description = NULL;

  simulate_once ();
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    check_status (views[i], NULL, "Open a recording");

  /* a recording, no result yet: never "open a recording" */
  imp_session_set_recording (session, sim_recording);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    check_status (views[i], has_analyzing ? "Not Analysed"
                                          : "No Analysis Yet", NULL);
  if (has_analyzing)
    {
      g_object_set (session, "analyzing", TRUE, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (views); i++)
        check_status (views[i], "Analysing…", NULL);
      g_object_set (session, "analyzing", FALSE, NULL);
    }

  /* no candidates: say what there was to test, not bare headers */
  imp_session_set_result (session, none);
  check_status (views[0], "No Candidate Pairs", "Pairs tested: 132");
  check_status (views[0], NULL, "none reached p");
  /* when none that is not significant was kept, none may have reached
   * p_max without being listed */
  none->params.max_candidates = 0;
  imp_session_set_result (session, NULL);
  imp_session_set_result (session, none);
  check_status (views[0], NULL, "were not kept");
  g_assert_true (_imp_pairs_view_get_status (IMP_PAIRS_VIEW (views[0]), &title,
                                             &description));
  g_assert_null (strstr (description, "none reached"));
  imp_session_set_result (session, single);
  check_status (views[0], "No Candidate Pairs", "a pair needs two cells");

  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    g_assert_finalize_object (views[i]);
  g_assert_finalize_object (session);
}

static void
test_map_large (void)
{
  static const Connection few[] = {
    { 0, 1, 'E', 1.0, FALSE },
    { 10, 200, 'I', -0.5, FALSE },
  };
  ImpSession *session = imp_session_new ();
  g_autoptr(ImpAnalysisResult) result = make_sparse_result (400, few, 2);
  GtkWidget *view;
  GtkWidget *canvas;
  GtkWidget *window;
  double x0, y0, x1, y1, radius;
  guint k;

  imp_session_set_result (session, result);
  view = g_object_ref_sink (imp_map_view_new (session));
  canvas = _imp_map_view_get_canvas (IMP_MAP_VIEW (view));
  window = show_in_window (view, canvas);

  /* 400 nodes on a circle: no labels over each other, nodes apart */
  g_assert_cmpuint (_imp_map_view_count_labels (IMP_MAP_VIEW (view),
                                                &radius), ==, 0);
  g_assert_true (_imp_map_view_get_node_position (IMP_MAP_VIEW (view), 0,
                                                  &x0, &y0));
  g_assert_true (_imp_map_view_get_node_position (IMP_MAP_VIEW (view), 1,
                                                  &x1, &y1));
  g_assert_cmpfloat (2 * radius, <, hypot (x1 - x0, y1 - y0));

  /* the selected pair's ends are labelled */
  imp_session_set_selected (session, 1);
  g_assert_cmpuint (_imp_map_view_count_labels (IMP_MAP_VIEW (view), NULL),
                    ==, 2);

  /* zoomed in far enough, every node is */
  for (k = 0; k < 40; k++)
    {
      _imp_map_view_zoom (IMP_MAP_VIEW (view), 1.25);
      _imp_map_view_get_node_position (IMP_MAP_VIEW (view), 0, &x0, &y0);
      _imp_map_view_get_node_position (IMP_MAP_VIEW (view), 1, &x1, &y1);
      if (hypot (x1 - x0, y1 - y0) > 120)
        break;
    }
  g_assert_cmpuint (k, <, 40);
  g_assert_cmpuint (_imp_map_view_count_labels (IMP_MAP_VIEW (view), NULL),
                    ==, 400);

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_map_drag (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_map_view_new (session));
  GtkWidget *canvas = _imp_map_view_get_canvas (IMP_MAP_VIEW (view));
  GtkWidget *window = show_in_window (view, canvas);
  const ImpCandidate *c;
  double x, y;

  g_assert_true (_imp_map_view_get_node_position (IMP_MAP_VIEW (view), 4,
                                                  &x, &y));

  /* pressed on a node and dragged: a pan, nothing chosen */
  _imp_map_view_click (IMP_MAP_VIEW (view), x, y, x + 200, y);
  g_assert_cmpint (imp_session_get_selected (session), ==, -1);

  /* a click that trembles a little still chooses */
  _imp_map_view_click (IMP_MAP_VIEW (view), x, y, x + 2, y + 1);
  c = imp_session_get_selected_candidate (session);
  g_assert_nonnull (c);
  g_assert_true (c->pre == 4 || c->post == 4);

  close_window (window, view);
  g_assert_finalize_object (session);
}

static void
test_histogram_width (void)
{
  ImpSession *session = make_session ();
  GtkWidget *view = g_object_ref_sink (imp_histogram_view_new (session));
  ImpHistogramView *histogram = IMP_HISTOGRAM_VIEW (view);
  ImpAnalysisResult *result = imp_session_get_result (session);
  ImpCandidate *c = g_ptr_array_index (result->candidates, 3);
  const char *title, *stats, *note;
  g_autofree char *expected = NULL;
  double width, used;
  guint n_bins;

  /* the widest spread of amplitudes: 4 -> 9, -1.2 mV in steps */
  imp_session_set_selected (session, 3);

  /* too narrow for this pair: both say the narrowest allowed */
  _imp_histogram_view_set_bin_width (histogram, 0.001);
  width = _imp_histogram_view_get_bin_width (histogram);
  g_assert_nonnull (_imp_histogram_view_get_bins (histogram, &n_bins, NULL,
                                                  &used));
  g_assert_cmpfloat (fabs (used - width), <, 1e-9);
  g_assert_cmpuint (n_bins, <=, 200);
  g_assert_cmpuint (n_bins, >, 100);
  _imp_histogram_view_get_texts (histogram, &title, &stats, &note);
  expected = g_strdup_printf ("%u bins of %.3f mV", n_bins, width);
  g_assert_nonnull (strstr (stats, expected));

  /* text that is not a number leaves the width alone */
  _imp_histogram_view_type_bin_width (histogram, "0.05");
  g_assert_cmpfloat (fabs (_imp_histogram_view_get_bin_width (histogram)
                           - 0.05), <, 1e-9);
  _imp_histogram_view_type_bin_width (histogram, "abc");
  g_assert_cmpfloat (fabs (_imp_histogram_view_get_bin_width (histogram)
                           - 0.05), <, 1e-9);
  _imp_histogram_view_type_bin_width (histogram, "");
  g_assert_cmpfloat (fabs (_imp_histogram_view_get_bin_width (histogram)
                           - 0.05), <, 1e-9);
  /* a number out of range is clamped */
  _imp_histogram_view_type_bin_width (histogram, "-1");
  g_assert_cmpfloat (fabs (_imp_histogram_view_get_bin_width (histogram)
                           - width), <, 1e-9);

  /* an artefact is said to be one */
  g_assert_null (note);
  g_assert_nonnull (strstr (title, "inhibitory"));
  c->artefact = TRUE;
  imp_session_set_selected (session, -1);
  imp_session_set_selected (session, 3);
  _imp_histogram_view_get_texts (histogram, &title, &stats, &note);
  g_assert_nonnull (strstr (title, "artefact"));
  g_assert_null (strstr (title, "inhibitory"));
  g_assert_nonnull (note);

  g_assert_finalize_object (view);
  g_assert_finalize_object (session);
}

/* Counts the cross-points above and below the baseline as drawn. */
static void
count_changed (ImpImprintView *view,
               guint           n_channels,
               guint          *up,
               guint          *down)
{
  *up = *down = 0;
  for (guint r = 0; r < n_channels; r++)
    for (guint c = 0; c < n_channels; c++)
      {
        double g = _imp_imprint_view_get_conductance (view, r, c);

        if (g < 0)
          continue;
        *up += g > IMP_CONDUCTANCE_BASELINE + 1e-6;
        *down += g < IMP_CONDUCTANCE_BASELINE - 1e-6;
      }
}

static void
test_imprint_inhibitory (void)
{
  /* one inhibitory connection alone, one excitatory into the same cell */
  static const Connection pair[] = {
    { 0, 2, 'I', -0.6, FALSE },
    { 1, 2, 'E', 0.3, FALSE },
  };
  ImpSession *session = imp_session_new ();
  g_autoptr(ImpAnalysisResult) result = make_sparse_result (4, pair, 2);
  GtkWidget *view;
  ImpImprintView *imprint;
  g_autofree char *counts = NULL;
  guint up, down;

  imp_session_set_result (session, result);
  view = g_object_ref_sink (imp_imprint_view_new (session));
  imprint = IMP_IMPRINT_VIEW (view);

  /* STDP sees the timing, not the sign: the inhibitory connection's own
   * cross-point is potentiated, its mirror depressed */
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 0, 2), >,
                     IMP_CONDUCTANCE_BASELINE + 0.1);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 2, 0), <,
                     IMP_CONDUCTANCE_BASELINE - 0.1);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 0, 2), >,
                     _imp_imprint_view_get_conductance (imprint, 1, 2));
  g_assert_nonnull (strstr (_imp_imprint_view_get_summary (imprint),
                            "2 connections (1 inhibitory)"));
  g_assert_nonnull (strstr (_imp_imprint_view_get_summary (imprint),
                            "2 cross-points potentiated, 2 depressed"));
  g_assert_finalize_object (view);

  /* the hand-built result: a reciprocal pair (0 -> 1 E, 1 -> 0 I) sums,
   * so six connections leave five cross-points each way, and the header
   * says so */
  g_clear_object (&session);
  session = make_session ();
  view = g_object_ref_sink (imp_imprint_view_new (session));
  imprint = IMP_IMPRINT_VIEW (view);
  count_changed (imprint, N_CHANNELS, &up, &down);
  g_assert_cmpuint (up, ==, 5);
  g_assert_cmpuint (down, ==, 5);
  counts = g_strdup_printf ("%u cross-points potentiated, %u depressed",
                            up, down);
  g_assert_nonnull (strstr (_imp_imprint_view_get_summary (imprint),
                            counts));
  g_assert_nonnull (strstr (_imp_imprint_view_get_summary (imprint),
                            "6 connections (2 inhibitory; 1 reciprocal"));
  /* the stronger direction wins its cross-point */
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 0, 1), >,
                     IMP_CONDUCTANCE_BASELINE);
  g_assert_cmpfloat (_imp_imprint_view_get_conductance (imprint, 1, 0), <,
                     IMP_CONDUCTANCE_BASELINE);

  g_assert_finalize_object (view);
  g_assert_finalize_object (session);
}

static gboolean
coloured_near (const guint32 *pixels,
               int            width,
               int            height,
               double         x,
               double         y)
{
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      {
        int px = CLAMP ((int) x + dx, 0, width - 1);
        int py = CLAMP ((int) y + dy, 0, height - 1);
        guint32 v = pixels[(gsize) py * width + px];
        int r = (v >> 16) & 0xff;
        int g = (v >> 8) & 0xff;
        int b = v & 0xff;

        if (MAX (MAX (r, g), b) - MIN (MIN (r, g), b) > 40)
          return TRUE;
      }
  return FALSE;
}

static void
test_imprint_large (void)
{
  enum { N = 600 };
  g_autofree Connection *list = g_new0 (Connection, N / 2);
  ImpSession *session = imp_session_new ();
  g_autoptr(ImpAnalysisResult) result = NULL;
  g_autofree guint32 *pixels = NULL;
  GtkWidget *view;
  ImpImprintView *imprint;
  GtkWidget *canvas;
  GtkWidget *window;
  double fit, x, y, x2, y2;
  int width, height;

  for (guint i = 0; i < N / 2; i++)
    {
      list[i].pre = 2 * i;
      list[i].post = (2 * i + 7) % N;
      list[i].sign = i % 3 == 0 ? 'I' : 'E';
      list[i].amplitude_mv = (list[i].sign == 'I' ? -1 : 1)
                             * (0.2 + (i % 10) * 0.2);
    }
  result = make_sparse_result (N, list, N / 2);
  imp_session_set_result (session, result);
  view = g_object_ref_sink (imp_imprint_view_new (session));
  imprint = IMP_IMPRINT_VIEW (view);
  canvas = _imp_imprint_view_get_canvas (imprint);
  window = show_in_window (view, canvas);

  /* narrower than a pixel per cross-point, yet every connection, the
   * weakest included, leaves a coloured pixel */
  fit = _imp_imprint_view_get_cell_size (imprint);
  g_assert_cmpfloat (fit, <, 1.0);
  pixels = render_pixels (canvas, &width, &height);
  for (guint i = 0; i < N / 2; i += 7)
    {
      g_assert_true (_imp_imprint_view_get_cell_centre (imprint,
                                                        list[i].pre,
                                                        list[i].post,
                                                        &x, &y));
      g_assert_true (coloured_near (pixels, width, height, x, y));
    }

  /* zoom in on one connection: it stays under the pointer and gets a
   * cell of its own */
  _imp_imprint_view_get_cell_centre (imprint, list[20].pre, list[20].post,
                                     &x, &y);
  _imp_imprint_view_zoom (imprint, 16, x, y);
  g_assert_cmpfloat (_imp_imprint_view_get_cell_size (imprint), >,
                     8 * fit);
  g_assert_true (_imp_imprint_view_get_cell_centre (imprint, list[20].pre,
                                                    list[20].post, &x2,
                                                    &y2));
  g_assert_cmpfloat (hypot (x2 - x, y2 - y), <,
                     _imp_imprint_view_get_cell_size (imprint));
  g_assert_cmpint (_imp_imprint_view_candidate_at (imprint, x2, y2), ==, 20);

  /* a drag pans by as much */
  _imp_imprint_view_pan (imprint, -40, 30);
  g_assert_true (_imp_imprint_view_get_cell_centre (imprint, list[20].pre,
                                                    list[20].post, &x, &y));
  g_assert_cmpfloat (fabs (x - (x2 - 40)), <, 1e-6);
  g_assert_cmpfloat (fabs (y - (y2 + 30)), <, 1e-6);

  /* and fitting again shows it all */
  _imp_imprint_view_zoom (imprint, 0, 0, 0);
  g_assert_cmpfloat (fabs (_imp_imprint_view_get_cell_size (imprint) - fit),
                     <, 1e-9);

  close_window (window, view);
  g_assert_finalize_object (session);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/Views/pairs-selection", test_pairs_selection);
  g_test_add_func ("/app/Views/pairs-render", test_pairs_render);
  g_test_add_func ("/app/Views/map-hit-test", test_map_hit);
  g_test_add_func ("/app/Views/imprint-cells", test_imprint_cells);
  g_test_add_func ("/app/Views/histogram-bins", test_histogram_bins);
  g_test_add_func ("/app/Views/empty", test_empty);
  g_test_add_func ("/app/Views/format-p", test_format_p);
  g_test_add_func ("/app/Views/pairs-detail", test_pairs_detail);
  g_test_add_func ("/app/Views/average-fit", test_average_fit);
  g_test_add_func ("/app/Views/pairs-verdict", test_pairs_verdict);
  g_test_add_func ("/app/Views/pairs-columns", test_pairs_columns);
  g_test_add_func ("/app/Views/empty-states", test_empty_states);
  g_test_add_func ("/app/Views/map-large", test_map_large);
  g_test_add_func ("/app/Views/map-drag", test_map_drag);
  g_test_add_func ("/app/Views/histogram-width", test_histogram_width);
  g_test_add_func ("/app/Views/histogram-quanta", test_histogram_quanta);
  g_test_add_func ("/app/Views/histogram-not-significant",
                   test_histogram_not_significant);
  g_test_add_func ("/app/Views/imprint-inhibitory", test_imprint_inhibitory);
  g_test_add_func ("/app/Views/imprint-large", test_imprint_large);
  g_test_add_func ("/app/Views/simulated/selection",
                   test_simulated_selection);
  g_test_add_func ("/app/Views/simulated/map", test_simulated_map);
  g_test_add_func ("/app/Views/simulated/imprint", test_simulated_imprint);
  g_test_add_func ("/app/Views/simulated/histogram",
                   test_simulated_histogram);
  g_test_add_func ("/app/Views/simulated/render", test_simulated_render);

  status = g_test_run ();
  simulation_clear ();
  return status;
}
