/* test-overview.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "imp-application.h"
#include "imp-array-layout.h"
#include "imp-array-view-private.h"
#include "imp-map-view-private.h"
#include "imp-native.h"
#include "imp-pairs-view-private.h"
#include "imp-session.h"
#include "imp-simulate.h"
#include "imp-traces-view-private.h"
#include "imp-window.h"

#include "imp-test-util.h"

#define SIDE       6           /* the simulated array is SIDE × SIDE */
#define PITCH_UM   30.0

static char *tmp_dir;
static char *sim_path;         /* simulated, electrodes on a grid */
static char *mixed_path;       /* some channels without a position */
static char *sweeps_path;      /* four sweeps */
static ImpApplication *app;

/* Helpers */

static void
count_cb (guint *count)
{
  (*count)++;
}

static gboolean
not_busy (gpointer data)
{
  return !imp_window_get_busy (data);
}

static gboolean
settled (gpointer data)
{
  return _imp_traces_view_is_settled (data);
}

static gboolean
has_size (gpointer data)
{
  return gtk_widget_get_width (data) > 100 &&
         gtk_widget_get_height (data) > 100;
}

static ImpWindow *
open_window (const char *path)
{
  ImpWindow *window = imp_window_new (GTK_APPLICATION (app));
  g_autoptr(GFile) file = g_file_new_for_path (path);

  g_object_ref (window);
  gtk_window_set_default_size (GTK_WINDOW (window), 1300, 800);
  gtk_window_present (GTK_WINDOW (window));
  imp_window_open (window, file);
  wait_until (not_busy, window);
  g_assert_nonnull (imp_session_get_result (imp_window_get_session (window)));
  return window;
}

static void
destroy_window (ImpWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  spin (50);
  g_assert_finalize_object (window);
}

static ImpTracesView *
get_traces (ImpWindow *window)
{
  ImpTracesView *traces;

  traces = IMP_TRACES_VIEW (find_descendant (GTK_WIDGET (window),
                                             IMP_TYPE_TRACES_VIEW));
  g_assert_nonnull (traces);
  return traces;
}

static GtkWidget *
get_traces_canvas (ImpTracesView *traces)
{
  return find_descendant (GTK_WIDGET (traces), GTK_TYPE_DRAWING_AREA);
}

static float
read_sample (ImpRecording *recording,
             guint         channel,
             gint64        sample)
{
  g_autoptr(GError) error = NULL;
  float value;

  imp_recording_read (recording, channel, 1, sample, 1, &value, &error);
  g_assert_no_error (error);
  return value;
}

/* Writes a recording of @n channels with the positions given (NAN for
 * none) and low noise, in @n_sweeps sweeps. */
static char *
write_recording (const char   *name,
                 guint         n,
                 const double *x_um,
                 const double *y_um,
                 gint64        n_samples,
                 guint         n_sweeps)
{
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint16 *counts = g_new (gint16, (gsize) n * n_samples);
  char *path = g_build_filename (tmp_dir, name, NULL);

  writer = imp_native_writer_new (path, n, 10000, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < n; c++)
    {
      g_autofree char *label = g_strdup_printf ("E%u", c);

      imp_native_writer_set_channel (writer, c, label, "mV", 0.01, 0,
                                     x_um[c], y_um[c],
                                     IMP_ACCESS_INTRACELLULAR);
    }
  for (gint64 s = 0; s < n_samples; s++)
    for (guint c = 0; c < n; c++)
      counts[s * n + c] = (gint16) (-6500 + 100 * c + (s * 7 + c) % 50);
  imp_native_writer_append (writer, counts, n_samples, &error);
  g_assert_no_error (error);
  for (guint i = 0; n_sweeps > 1 && i < n_sweeps; i++)
    imp_native_writer_add_sweep (writer, n_samples / n_sweeps,
                                 i * 2.0);
  imp_native_writer_close (writer, &error);
  g_assert_no_error (error);

  return path;
}

static ImpRecording *
open_recording (const char *path)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *recording = imp_recording_open (path, &error);

  g_assert_no_error (error);
  return recording;
}

/* Session */

static void
test_session_channels (void)
{
  g_autoptr(ImpSession) session = imp_session_new ();
  g_autoptr(ImpRecording) recording = open_recording (sim_path);
  g_autoptr(ImpRecording) other = open_recording (mixed_path);
  const guint wanted[] = { 5, 2, 2, 9999, 0 };
  const guint *channels;
  guint n_channels = 0;
  guint n_notify = 0;
  guint n_focus = 0;
  double start, end;

  imp_session_set_recording (session, recording);
  g_signal_connect_swapped (session, "notify::channels",
                            G_CALLBACK (count_cb), &n_notify);
  g_signal_connect_swapped (session, "notify::focus",
                            G_CALLBACK (count_cb), &n_focus);

  /* Sorted, once each, only channels the recording has. */
  imp_session_set_channels (session, wanted, G_N_ELEMENTS (wanted));
  channels = imp_session_get_channels (session, &n_channels);
  g_assert_cmpuint (n_channels, ==, 3);
  g_assert_cmpuint (channels[0], ==, 0);
  g_assert_cmpuint (channels[1], ==, 2);
  g_assert_cmpuint (channels[2], ==, 5);
  g_assert_cmpuint (n_notify, ==, 1);
  g_assert_true (imp_session_is_chosen (session, 2));
  g_assert_false (imp_session_is_chosen (session, 3));
  imp_session_set_channels (session, wanted, G_N_ELEMENTS (wanted));
  g_assert_cmpuint (n_notify, ==, 1);

  g_assert_false (imp_session_get_focus (session, NULL, NULL));
  imp_session_set_focus (session, 1.5, 2.5);
  g_assert_true (imp_session_get_focus (session, &start, &end));
  g_assert_cmpfloat (start, ==, 1.5);
  g_assert_cmpfloat (end, ==, 2.5);
  imp_session_set_focus (session, 1.5, 2.5);
  g_assert_cmpuint (n_focus, ==, 1);
  imp_session_set_focus (session, 3, 2);
  g_assert_false (imp_session_get_focus (session, NULL, NULL));
  g_assert_cmpuint (n_focus, ==, 2);

  /* Another recording: nothing chosen, nothing in focus. */
  imp_session_set_focus (session, 1, 2);
  imp_session_set_recording (session, other);
  imp_session_get_channels (session, &n_channels);
  g_assert_cmpuint (n_channels, ==, 0);
  g_assert_cmpuint (n_notify, ==, 2);
  g_assert_false (imp_session_get_focus (session, NULL, NULL));

  g_signal_handlers_disconnect_by_data (session, &n_notify);
  g_signal_handlers_disconnect_by_data (session, &n_focus);
}

/* Layout */

static void
test_layout_grid (void)
{
  g_autoptr(ImpRecording) recording = open_recording (sim_path);
  g_autoptr(ImpArrayLayout) layout = imp_array_layout_new (recording);
  guint n = imp_recording_get_n_channels (recording);

  g_assert_cmpuint (imp_array_layout_get_n (layout), ==, n);
  g_assert_false (imp_array_layout_is_fallback (layout));
  g_assert_cmpfloat_with_epsilon (imp_array_layout_get_pitch (layout),
                                  PITCH_UM, 1e-9);

  for (guint c = 0; c < n; c++)
    {
      const ImpChannel *info = imp_recording_get_channel (recording, c);
      guint row, column, label_row, label_column;
      double x, y;
      int right;

      g_assert_true (imp_array_layout_is_placed (layout, c));
      imp_array_layout_get_centre (layout, c, &x, &y);
      g_assert_cmpfloat (x, ==, info->x_um);
      g_assert_cmpfloat (y, ==, info->y_um);

      /* The simulator names electrodes by row and column. */
      g_assert_true (imp_array_layout_get_grid (layout, c, &row, &column));
      g_assert_cmpint (sscanf (info->label, "R%uC%u", &label_row,
                               &label_column), ==, 2);
      g_assert_cmpuint (row, ==, label_row);
      g_assert_cmpuint (column, ==, label_column);

      g_assert_cmpint (imp_array_layout_channel_at (layout, x + 14, y - 14),
                       ==, (int) c);
      right = imp_array_layout_neighbour (layout, c, 1, 0);
      if (column < SIDE)
        g_assert_cmpfloat (imp_recording_get_channel (recording, right)->x_um,
                           ==, x + PITCH_UM);
      else
        g_assert_cmpint (right, ==, -1);
    }
}

static void
test_layout_fallback (void)
{
  g_autoptr(ImpRecording) mixed = open_recording (mixed_path);
  g_autoptr(ImpArrayLayout) layout = imp_array_layout_new (mixed);
  double placed_bottom = -G_MAXDOUBLE;
  g_autofree char *where = NULL;
  const double none[7] = { NAN, NAN, NAN, NAN, NAN, NAN, NAN };
  g_autofree char *bare_path = NULL;
  g_autoptr(ImpRecording) bare = NULL;
  g_autoptr(ImpArrayLayout) grid = NULL;

  /* Channels 0 to 5 have positions 50 µm apart, 6 to 9 none: those sit
   * in a grid of their own below. */
  g_assert_false (imp_array_layout_is_fallback (layout));
  g_assert_cmpfloat_with_epsilon (imp_array_layout_get_pitch (layout), 50,
                                  1e-9);
  for (guint c = 0; c < 10; c++)
    {
      double x, y;

      g_assert_true (imp_array_layout_is_placed (layout, c) == (c < 6));
      imp_array_layout_get_centre (layout, c, &x, &y);
      if (c < 6)
        placed_bottom = MAX (placed_bottom, y);
      else
        g_assert_cmpfloat (y, >, placed_bottom);
      g_assert_cmpint (imp_array_layout_channel_at (layout, x, y), ==,
                       (int) c);
    }
  where = imp_array_layout_describe (layout, 7);
  g_assert_cmpstr (where, ==, "no position");

  /* No positions at all: a square grid by index. */
  bare_path = write_recording ("bare.h5", 7, none, none, 1000, 1);
  bare = open_recording (bare_path);
  grid = imp_array_layout_new (bare);
  g_assert_true (imp_array_layout_is_fallback (grid));
  for (guint c = 0; c < 7; c++)
    {
      guint row, column;

      g_assert_true (imp_array_layout_get_grid (grid, c, &row, &column));
      g_assert_cmpuint (row, ==, c / 3 + 1);
      g_assert_cmpuint (column, ==, c % 3 + 1);
    }
  g_unlink (bare_path);
}

/* Array view */

typedef struct
{
  ImpSession   *session;
  GtkWidget    *window;
  ImpArrayView *view;
  GtkWidget    *canvas;
  ImpRecording *recording;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->session = imp_session_new ();
  fixture->recording = open_recording (sim_path);
  imp_session_set_recording (fixture->session, fixture->recording);

  fixture->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 320, 620);
  fixture->view = IMP_ARRAY_VIEW (imp_array_view_new (fixture->session));
  gtk_window_set_child (GTK_WINDOW (fixture->window),
                        GTK_WIDGET (fixture->view));
  gtk_window_present (GTK_WINDOW (fixture->window));
  fixture->canvas = _imp_array_view_get_canvas (fixture->view);
  wait_until (has_size, fixture->canvas);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_object_ref (fixture->view);
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  spin (20);
  g_assert_finalize_object (fixture->view);
  g_clear_object (&fixture->session);
  g_clear_pointer (&fixture->recording, imp_recording_unref);
}

/* The chosen channels, as a string "0 2 5" to compare. */
static char *
chosen_text (ImpSession *session)
{
  GString *text = g_string_new (NULL);
  const guint *channels;
  guint n;

  channels = imp_session_get_channels (session, &n);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, i > 0 ? " %u" : "%u", channels[i]);
  return g_string_free (text, FALSE);
}

/* The channels whose electrodes lie in [x0, x1] × [y0, y1] µm, from the
 * recording's positions, toggled against @before with Ctrl or added with
 * Shift. */
static char *
expected_text (ImpRecording *recording,
               double        x0,
               double        y0,
               double        x1,
               double        y1,
               const char   *before,
               char          mode)
{
  GString *text = g_string_new (NULL);
  g_auto(GStrv) old = g_strsplit (before, " ", -1);

  for (guint c = 0; c < imp_recording_get_n_channels (recording); c++)
    {
      const ImpChannel *info = imp_recording_get_channel (recording, c);
      gboolean inside = info->x_um >= MIN (x0, x1) &&
                        info->x_um <= MAX (x0, x1) &&
                        info->y_um >= MIN (y0, y1) &&
                        info->y_um <= MAX (y0, y1);
      g_autofree char *name = g_strdup_printf ("%u", c);
      gboolean was = g_strv_contains ((const char * const *) old, name);
      gboolean in = mode == 'C' ? was != inside
                    : mode == 'S' ? was || inside
                    : inside;

      if (in)
        g_string_append_printf (text, text->len > 0 ? " %u" : "%u", c);
    }

  return g_string_free (text, FALSE);
}

static void
drag_um (Fixture         *fixture,
         double           x0,
         double           y0,
         double           x1,
         double           y1,
         GdkModifierType  state)
{
  double cx0, cy0, cx1, cy1;

  g_assert_true (_imp_array_view_to_canvas (fixture->view, x0, y0, &cx0,
                                            &cy0));
  g_assert_true (_imp_array_view_to_canvas (fixture->view, x1, y1, &cx1,
                                            &cy1));
  _imp_array_view_drag (fixture->view, cx0, cy0, cx1, cy1, state);
}

/* The channel whose electrode is at (@x, @y) µm, from the positions. */
static int
channel_near (ImpRecording *recording,
              double        x,
              double        y)
{
  for (guint c = 0; c < imp_recording_get_n_channels (recording); c++)
    {
      const ImpChannel *info = imp_recording_get_channel (recording, c);

      if (fabs (info->x_um - x) < 1e-6 && fabs (info->y_um - y) < 1e-6)
        return c;
    }
  return -1;
}

static void
test_array_choose (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  const ImpChannel *info;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  double x, y;

  /* A click chooses the electrode under it; Shift adds, Ctrl toggles. */
  info = imp_recording_get_channel (fixture->recording, 8);
  drag_um (fixture, info->x_um + 5, info->y_um - 5, info->x_um + 5,
           info->y_um - 5, 0);
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, "8");
  g_clear_pointer (&text, g_free);

  info = imp_recording_get_channel (fixture->recording, 20);
  drag_um (fixture, info->x_um, info->y_um, info->x_um, info->y_um,
           GDK_SHIFT_MASK);
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, "8 20");
  g_clear_pointer (&text, g_free);

  info = imp_recording_get_channel (fixture->recording, 8);
  drag_um (fixture, info->x_um, info->y_um, info->x_um, info->y_um,
           GDK_CONTROL_MASK);
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, "20");
  g_clear_pointer (&text, g_free);

  /* A click beside the array, in its margin, chooses nothing. */
  g_assert_true (_imp_array_view_to_canvas (fixture->view, 0, 0, &x, &y));
  g_assert_cmpfloat (x, >, 4);
  _imp_array_view_drag (fixture->view, 2, 2, 2, 2, 0);
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, "");
  g_clear_pointer (&text, g_free);

  /* Rectangles, drawn either way, plain, with Shift and with Ctrl: the
   * channels whose positions lie inside, from the positions alone. Corners
   * a little off the grid, so that no electrode is on an edge. */
  for (guint i = 0; i < 24; i++)
    {
      double x0 = g_rand_int_range (rand, -1, SIDE) * PITCH_UM + 7;
      double y0 = g_rand_int_range (rand, -1, SIDE) * PITCH_UM + 11;
      double x1 = g_rand_int_range (rand, -1, SIDE + 1) * PITCH_UM - 9;
      double y1 = g_rand_int_range (rand, -1, SIDE + 1) * PITCH_UM - 13;
      GdkModifierType state = i % 3 == 1 ? GDK_SHIFT_MASK
                              : i % 3 == 2 ? GDK_CONTROL_MASK : 0;
      g_autofree char *before = chosen_text (fixture->session);
      g_autofree char *inside = NULL;

      if (fabs (x1 - x0) < 10 && fabs (y1 - y0) < 10)
        continue;
      inside = expected_text (fixture->recording, x0, y0, x1, y1, before,
                              i % 3 == 1 ? 'S' : i % 3 == 2 ? 'C' : 0);
      drag_um (fixture, x0, y0, x1, y1, state);
      text = chosen_text (fixture->session);
      g_assert_cmpstr (text, ==, inside);
      g_clear_pointer (&text, g_free);
    }

  /* Escape chooses none again. */
  drag_um (fixture, 0, 0, 2 * PITCH_UM, PITCH_UM, 0);
  g_assert_true (press_key (fixture->canvas, GDK_KEY_Escape, 0));
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, "");
  g_clear_pointer (&text, g_free);

  /* From the keyboard: the first arrow reaches the first electrode, the
   * next ones its neighbours on the array; Space toggles, Enter chooses
   * one, Shift + Enter adds. */
  g_assert_true (press_key (fixture->canvas, GDK_KEY_Right, 0));
  g_assert_true (press_key (fixture->canvas, GDK_KEY_Right, 0));
  g_assert_true (press_key (fixture->canvas, GDK_KEY_Down, 0));
  g_assert_true (press_key (fixture->canvas, GDK_KEY_space, 0));
  expected = g_strdup_printf ("%d", channel_near (fixture->recording,
                                                  PITCH_UM, PITCH_UM));
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, expected);
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&expected, g_free);

  g_assert_true (press_key (fixture->canvas, GDK_KEY_Right, 0));
  g_assert_true (press_key (fixture->canvas, GDK_KEY_Return,
                            GDK_SHIFT_MASK));
  expected = g_strdup_printf ("%d %d",
                              channel_near (fixture->recording, PITCH_UM,
                                            PITCH_UM),
                              channel_near (fixture->recording,
                                            2 * PITCH_UM, PITCH_UM));
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, expected);
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&expected, g_free);

  g_assert_true (press_key (fixture->canvas, GDK_KEY_Return, 0));
  expected = g_strdup_printf ("%d", channel_near (fixture->recording,
                                                  2 * PITCH_UM, PITCH_UM));
  text = chosen_text (fixture->session);
  g_assert_cmpstr (text, ==, expected);
}

/* A result with @access per channel and 3 × (c + 1) APs on channel c. */
static ImpAnalysisResult *
make_result (ImpRecording *recording)
{
  ImpAnalysisResult *result = g_new0 (ImpAnalysisResult, 1);
  guint n = imp_recording_get_n_channels (recording);

  g_atomic_ref_count_init (&result->ref_count);
  result->n_channels = n;
  result->sample_rate = imp_recording_get_sample_rate (recording);
  imp_analysis_params_init_default (&result->params);
  result->access = g_new0 (ImpAccess, n);
  result->aps = g_new0 (GArray *, n);
  result->psps = g_new0 (GArray *, n);
  result->candidates = g_ptr_array_new ();
  for (guint c = 0; c < n; c++)
    {
      result->access[c] = c % 5 == 4 ? IMP_ACCESS_EXTRACELLULAR
                          : c % 7 == 6 ? IMP_ACCESS_NONE
                          : IMP_ACCESS_INTRACELLULAR;
      result->aps[c] = g_array_new (FALSE, TRUE, sizeof (ImpEvent));
      result->psps[c] = g_array_new (FALSE, TRUE, sizeof (ImpEvent));
      g_array_set_size (result->aps[c], 3 * (c + 1));
    }

  return result;
}

static gboolean
not_measuring (gpointer data)
{
  return !_imp_array_view_is_measuring (data);
}

static void
test_array_measures (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(ImpAnalysisResult) result = make_result (fixture->recording);
  guint n = imp_recording_get_n_channels (fixture->recording);
  double duration = imp_recording_get_duration (fixture->recording);
  double rate = imp_recording_get_sample_rate (fixture->recording);
  g_autofree char *legend = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *tooltip = NULL;
  guint counts[3] = { 0 };
  gint64 first, end;
  double x, y;

  /* Access, as the analysis found it, counted in the legend. */
  imp_session_set_result (fixture->session, result);
  for (guint c = 0; c < n; c++)
    counts[c % 5 == 4 ? 1 : c % 7 == 6 ? 2 : 0]++;
  legend = _imp_array_view_get_legend (fixture->view);
  expected = g_strdup_printf ("intracellular %u\nextracellular %u\n"
                              "no signal %u\nunknown 0",
                              counts[0], counts[1], counts[2]);
  g_assert_nonnull (strstr (legend, expected));

  /* Firing rate: APs over the time recorded, where there is access. */
  imp_array_view_set_measure (fixture->view, IMP_ARRAY_MEASURE_FIRING_RATE);
  for (guint c = 0; c < n; c++)
    {
      double value = _imp_array_view_get_value (fixture->view, c);

      if (result->access[c] == IMP_ACCESS_INTRACELLULAR)
        g_assert_cmpfloat_with_epsilon (value, 3.0 * (c + 1) / duration,
                                        1e-12);
      else
        g_assert_true (isnan (value));
    }
  g_assert_true (_imp_array_view_to_canvas (fixture->view, 0, 0, &x, &y));
  tooltip = _imp_array_view_get_tooltip (fixture->view, x, y);
  g_assert_nonnull (strstr (tooltip, "R1C1"));
  g_assert_nonnull (strstr (tooltip, "row 1, col 1"));
  g_assert_nonnull (strstr (tooltip, "APs/s"));

  /* Activity of the time in focus, against the samples read here. */
  imp_session_set_focus (fixture->session, 2.25, 3.75);
  first = (gint64) floor (2.25 * rate);
  end = (gint64) ceil (3.75 * rate);
  for (ImpArrayMeasure measure = IMP_ARRAY_MEASURE_PEAK_TO_PEAK;
       measure <= IMP_ARRAY_MEASURE_RMS; measure++)
    {
      /* Measured once for both. */
      imp_array_view_set_measure (fixture->view, measure);
      g_assert_true (_imp_array_view_is_measuring (fixture->view) ==
                     (measure == IMP_ARRAY_MEASURE_PEAK_TO_PEAK));
      wait_until (not_measuring, fixture->view);

      for (guint c = 0; c < n; c += 5)
        {
          g_autofree float *samples = g_new (float, end - first);
          g_autoptr(GError) error = NULL;
          double lo = INFINITY, hi = -INFINITY, sum = 0, sum2 = 0;
          double mean, want;

          imp_recording_read (fixture->recording, c, 1, first, end - first,
                              samples, &error);
          g_assert_no_error (error);
          for (gint64 s = 0; s < end - first; s++)
            {
              lo = MIN (lo, samples[s]);
              hi = MAX (hi, samples[s]);
              sum += samples[s];
            }
          mean = sum / (end - first);
          for (gint64 s = 0; s < end - first; s++)
            sum2 += (samples[s] - mean) * (samples[s] - mean);
          want = measure == IMP_ARRAY_MEASURE_RMS
                 ? sqrt (sum2 / (end - first)) : hi - lo;
          g_assert_cmpfloat_with_epsilon (
            _imp_array_view_get_value (fixture->view, c), want,
            1e-4 * MAX (want, 1));
        }
    }
}

/* Traces */

static void
test_traces_rows (void)
{
  ImpWindow *window = open_window (sim_path);
  ImpSession *session = imp_window_get_session (window);
  ImpTracesView *traces = get_traces (window);
  ImpAnalysisResult *result = imp_session_get_result (session);
  const guint chosen[] = { 17, 3, 10 };
  const guint *rows, *shown;
  guint n_rows, n_shown;
  ImpCandidate *candidate;

  /* All channels while none is chosen, the chosen ones when some are. */
  rows = _imp_traces_view_get_rows (traces, &n_rows);
  g_assert_cmpuint (n_rows, ==, SIDE * SIDE);
  imp_session_set_channels (session, chosen, G_N_ELEMENTS (chosen));
  rows = _imp_traces_view_get_rows (traces, &n_rows);
  g_assert_cmpuint (n_rows, ==, 3);
  g_assert_cmpuint (rows[0], ==, 3);
  g_assert_cmpuint (rows[1], ==, 10);
  g_assert_cmpuint (rows[2], ==, 17);

  /* Which ones are in view goes to the session, for the overview. */
  spin (50);
  shown = imp_session_get_shown_channels (session, &n_shown);
  g_assert_cmpuint (n_shown, ==, 3);
  g_assert_cmpuint (shown[0], ==, 3);
  g_assert_cmpuint (shown[2], ==, 17);

  /* A selected pair comes first. */
  g_assert_cmpuint (result->candidates->len, >, 0);
  imp_session_set_selected (session, 0);
  candidate = imp_session_get_selected_candidate (session);
  rows = _imp_traces_view_get_rows (traces, &n_rows);
  g_assert_cmpuint (rows[0], ==, candidate->pre);
  g_assert_cmpuint (rows[1], ==, candidate->post);
  for (guint i = 0; i < G_N_ELEMENTS (chosen); i++)
    {
      gboolean found = FALSE;

      for (guint r = 2; r < n_rows; r++)
        found |= rows[r] == chosen[i];
      g_assert_true (found || chosen[i] == candidate->pre ||
                     chosen[i] == candidate->post);
    }

  imp_session_set_channels (session, NULL, 0);
  imp_session_set_selected (session, -1);
  _imp_traces_view_get_rows (traces, &n_rows);
  g_assert_cmpuint (n_rows, ==, SIDE * SIDE);

  destroy_window (window);
}

/* The value the cursor reads is the sample under the pointer, as the
 * recording gives it. */
static void
test_traces_cursor (void)
{
  ImpWindow *window = open_window (sim_path);
  ImpSession *session = imp_window_get_session (window);
  ImpRecording *recording = imp_session_get_recording (session);
  ImpTracesView *traces = get_traces (window);
  double rate = imp_recording_get_sample_rate (recording);
  double left, width, start, end, row_height;
  const guint *rows;
  guint n_rows;

  imp_traces_view_set_visible_range (traces, 3.0, 3.04);
  wait_until (settled, traces);
  imp_traces_view_get_visible_range (traces, &start, &end);
  _imp_traces_view_get_trace_area (traces, &left, &width);
  row_height = _imp_traces_view_get_row_height (traces);
  rows = _imp_traces_view_get_rows (traces, &n_rows);
  g_assert_cmpfloat ((end - start) * rate, <, width);

  for (guint i = 0; i < 12; i++)
    {
      double x = left + (i + 0.37) * width / 12;
      guint row = (i * 5) % 4;
      double y = 6 + (row + 0.5) * row_height;
      double time = start + (x - left) / width * (end - start);
      guint channel;
      gint64 sample;
      float lo, hi;

      g_assert_true (_imp_traces_view_cursor_readout (traces, x, y, &channel,
                                                      &sample, &lo, &hi));
      g_assert_cmpuint (channel, ==, rows[row]);
      g_assert_cmpfloat (fabs (sample - time * rate), <=, 0.5 + 1e-6);
      g_assert_cmpfloat (lo, ==, hi);
      g_assert_cmpfloat (lo, ==, read_sample (recording, channel, sample));
    }

  destroy_window (window);
}

/* The first AP of @channel after @sample, by looking at all of them. */
static gint64
next_ap (ImpAnalysisResult *result,
         guint              channel,
         gint64             sample)
{
  GArray *aps = result->aps[channel];

  for (guint i = 0; i < aps->len; i++)
    if (g_array_index (aps, ImpEvent, i).sample > sample)
      return g_array_index (aps, ImpEvent, i).sample;
  return -1;
}

static gint64
previous_ap (ImpAnalysisResult *result,
             guint              channel,
             gint64             sample)
{
  GArray *aps = result->aps[channel];

  for (guint i = aps->len; i > 0; i--)
    if (g_array_index (aps, ImpEvent, i - 1).sample < sample)
      return g_array_index (aps, ImpEvent, i - 1).sample;
  return -1;
}

static void
test_traces_step (void)
{
  ImpWindow *window = open_window (sim_path);
  ImpSession *session = imp_window_get_session (window);
  ImpAnalysisResult *result = imp_session_get_result (session);
  double rate = imp_recording_get_sample_rate (
                  imp_session_get_recording (session));
  ImpTracesView *traces = get_traces (window);
  GtkWidget *canvas = get_traces_canvas (traces);
  int channel = -1;
  gint64 expected, mark, from;
  double start, end;
  guint marked;

  for (guint c = 0; c < result->n_channels && channel < 0; c++)
    if (result->aps[c]->len >= 6)
      channel = c;
  g_assert_cmpint (channel, >=, 0);

  /* From the middle of the view, the next AP, then the one after, then
   * back. */
  imp_traces_view_set_visible_range (traces, 5.0, 5.5);
  _imp_traces_view_set_focus_channel (traces, channel);
  from = (gint64) floor (5.25 * rate);
  for (guint i = 0; i < 3; i++)
    {
      expected = next_ap (result, channel, from);
      g_assert_cmpint (expected, >, 0);
      g_assert_true (press_key (canvas, GDK_KEY_period, 0));
      g_assert_true (_imp_traces_view_get_mark (traces, &marked, &mark));
      g_assert_cmpuint (marked, ==, channel);
      g_assert_cmpint (mark, ==, expected);
      imp_traces_view_get_visible_range (traces, &start, &end);
      g_assert_cmpfloat_with_epsilon ((start + end) / 2, mark / rate,
                                      1 / rate);
      from = mark;
    }

  g_assert_true (press_key (canvas, GDK_KEY_comma, 0));
  _imp_traces_view_get_mark (traces, &marked, &mark);
  g_assert_cmpint (mark, ==, previous_ap (result, channel, from));

  /* Shift + . goes to the next PSP instead. */
  if (result->psps[channel]->len > 0 &&
      g_array_index (result->psps[channel], ImpEvent,
                     result->psps[channel]->len - 1).sample > mark)
    {
      GArray *psps = result->psps[channel];
      gint64 after = mark;

      expected = -1;
      for (guint i = 0; i < psps->len && expected < 0; i++)
        if (g_array_index (psps, ImpEvent, i).sample > after)
          expected = g_array_index (psps, ImpEvent, i).sample;
      g_assert_true (press_key (canvas, GDK_KEY_greater, GDK_SHIFT_MASK));
      _imp_traces_view_get_mark (traces, &marked, &mark);
      g_assert_cmpint (mark, ==, expected);
    }

  destroy_window (window);
}

/* Shift scales the channel the keys act on, Ctrl + Shift every one. */
static void
test_traces_scale (void)
{
  ImpWindow *window = open_window (sim_path);
  ImpTracesView *traces = get_traces (window);
  GtkWidget *canvas = get_traces_canvas (traces);
  double before[4], after;

  wait_until (settled, traces);
  for (guint c = 0; c < 4; c++)
    before[c] = _imp_traces_view_get_gain (traces, c);

  _imp_traces_view_set_focus_channel (traces, 2);
  g_assert_true (press_key (canvas, GDK_KEY_Up, GDK_SHIFT_MASK));
  for (guint c = 0; c < 4; c++)
    {
      after = _imp_traces_view_get_gain (traces, c);
      g_assert_cmpfloat_with_epsilon (after, before[c] * (c == 2 ? 1.25 : 1),
                                      1e-9 * before[c]);
    }

  g_assert_true (press_key (canvas, GDK_KEY_Down,
                            GDK_SHIFT_MASK | GDK_CONTROL_MASK));
  for (guint c = 0; c < 4; c++)
    {
      after = _imp_traces_view_get_gain (traces, c);
      g_assert_cmpfloat_with_epsilon (after,
                                      before[c] * (c == 2 ? 1.25 : 1) / 1.25,
                                      1e-9 * before[c]);
    }

  destroy_window (window);
}

/* The first AP of the candidate's presynaptic cell that a PSP of its sign
 * follows within the latency window, by trying every pair. */
static double
first_evoked_s (ImpAnalysisResult *result,
                ImpCandidate      *candidate)
{
  GArray *aps = result->aps[candidate->pre];
  GArray *psps = result->psps[candidate->post];
  double rate = result->sample_rate;

  for (guint i = 0; i < aps->len; i++)
    for (guint j = 0; j < psps->len; j++)
      {
        ImpEvent *ap = &g_array_index (aps, ImpEvent, i);
        ImpEvent *psp = &g_array_index (psps, ImpEvent, j);
        double lag_ms = ((gint64) psp->sample - (gint64) ap->sample) * 1000
                          / rate;

        if (lag_ms >= result->params.latency_min_ms - 1e-9 &&
            lag_ms <= result->params.latency_max_ms + 1e-9 &&
            (psp->amplitude > 0) == (candidate->sign == 'E'))
          return ap->sample / rate;
      }

  return g_array_index (aps, ImpEvent, 0).sample / rate;
}

static void
check_shown_in_traces (ImpWindow *window,
                       int        index)
{
  ImpSession *session = imp_window_get_session (window);
  ImpAnalysisResult *result = imp_session_get_result (session);
  ImpCandidate *candidate = g_ptr_array_index (result->candidates, index);
  ImpTracesView *traces = get_traces (window);
  AdwViewStack *stack;
  const guint *rows;
  guint n_rows;
  double start, end, when;

  stack = ADW_VIEW_STACK (find_descendant (GTK_WIDGET (window),
                                           ADW_TYPE_VIEW_STACK));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==,
                   "traces");
  g_assert_cmpint (imp_session_get_selected (session), ==, index);

  rows = _imp_traces_view_get_rows (traces, &n_rows);
  g_assert_cmpuint (n_rows, ==, 2);
  g_assert_cmpuint (rows[0], ==, candidate->pre);
  g_assert_cmpuint (rows[1], ==, candidate->post);

  when = first_evoked_s (result, candidate);
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat (start, <, when);
  g_assert_cmpfloat (end, >, when);
  if (start > 0 && end < imp_recording_get_duration (
                             imp_session_get_recording (session)))
    g_assert_cmpfloat_with_epsilon ((start + end) / 2, when, 1e-4);
}

static void
test_link_pairs_and_map (void)
{
  ImpWindow *window = open_window (sim_path);
  ImpSession *session = imp_window_get_session (window);
  ImpAnalysisResult *result = imp_session_get_result (session);
  ImpPairsView *pairs;
  ImpMapView *map;
  GtkSingleSelection *selection;
  GListModel *model;
  int index = -1;
  guint position = 0;

  pairs = IMP_PAIRS_VIEW (find_descendant (GTK_WIDGET (window),
                                           IMP_TYPE_PAIRS_VIEW));
  map = IMP_MAP_VIEW (find_descendant (GTK_WIDGET (window),
                                       IMP_TYPE_MAP_VIEW));

  /* The last significant pair in the list, activated as by Enter. */
  selection = _imp_pairs_view_get_selection (pairs);
  model = gtk_single_selection_get_model (selection);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);
      guint candidate;
      ImpCandidate *c;

      g_object_get (item, "index", &candidate, NULL);
      c = g_ptr_array_index (result->candidates, candidate);
      if (c->significant && result->aps[c->pre]->len > 0)
        {
          index = candidate;
          position = i;
        }
    }
  g_assert_cmpint (index, >=, 0);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s",
                              "pairs");
  _imp_pairs_view_activate_row (pairs, position);
  check_shown_in_traces (window, index);

  /* From the map: Enter on the selected edge. */
  imp_session_set_channels (session, NULL, 0);
  imp_session_set_selected (session, -1);
  imp_traces_view_set_visible_range (get_traces (window), 0, 1);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s",
                              "map");
  imp_session_set_selected (session, index);
  g_assert_true (press_key (_imp_map_view_get_canvas (map), GDK_KEY_Return,
                            0));
  check_shown_in_traces (window, index);

  destroy_window (window);
}

/* Overlaid sweeps share one time axis from each sweep's start; the
 * cursor reads the sweep whose trace passes under the pointer. */
static void
test_traces_overlay (void)
{
  ImpWindow *window = open_window (sweeps_path);
  ImpSession *session = imp_window_get_session (window);
  ImpRecording *recording = imp_session_get_recording (session);
  ImpTracesView *traces = get_traces (window);
  double rate = imp_recording_get_sample_rate (recording);
  const ImpSweep *sweep = imp_recording_get_sweep (recording, 2);
  double start, end, left, width;
  guint channel;
  gint64 sample;
  float lo, hi;

  g_assert_cmpuint (imp_recording_get_n_sweeps (recording), ==, 4);
  imp_traces_view_set_visible_range (traces, sweep->start_sample / rate + 0.1,
                                     sweep->start_sample / rate + 0.2);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window),
                                             "win.overlay-sweeps", NULL));
  g_assert_true (imp_traces_view_get_overlay_sweeps (traces));
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (start, 0.1, 1e-6);
  g_assert_cmpfloat_with_epsilon (end, 0.2, 1e-6);

  /* No further than the longest sweep. */
  imp_traces_view_set_visible_range (traces, 0, 100);
  imp_traces_view_get_visible_range (traces, &start, &end);
  g_assert_cmpfloat_with_epsilon (end, sweep->n_samples / rate, 1e-6);

  /* The pointer picks one sweep's sample, at its time from the sweep's
   * start. */
  imp_traces_view_set_visible_range (traces, 0.1, 0.11);
  wait_until (settled, traces);
  _imp_traces_view_get_trace_area (traces, &left, &width);
  g_assert_true (_imp_traces_view_cursor_readout (traces, left + width / 2,
                                                  30, &channel, &sample,
                                                  &lo, &hi));
  g_assert_cmpfloat (lo, ==, read_sample (recording, channel, sample));
  g_assert_cmpfloat (fabs (sample - imp_recording_get_sweep (
                             recording, imp_recording_sweep_at (recording,
                                                                sample))
                                      ->start_sample - 0.105 * rate),
                     <=, 1);

  g_assert_true (press_key (get_traces_canvas (traces), GDK_KEY_o, 0));
  g_assert_false (imp_traces_view_get_overlay_sweeps (traces));

  destroy_window (window);
}

/* F9 and the header button show and hide the overview. */
static void
test_window_overview (void)
{
  ImpWindow *window = open_window (sim_path);
  ImpArrayView *view;
  gboolean shown;

  view = IMP_ARRAY_VIEW (find_descendant (GTK_WIDGET (window),
                                          IMP_TYPE_ARRAY_VIEW));
  g_assert_nonnull (view);
  g_assert_true (gtk_widget_is_visible (GTK_WIDGET (view)));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window),
                                             "win.show-overview", NULL));
  g_object_get (window, "show-overview", &shown, NULL);
  g_assert_false (shown);
  g_assert_false (gtk_widget_is_visible (GTK_WIDGET (view)));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-overview",
                              NULL);
  g_assert_true (gtk_widget_is_visible (GTK_WIDGET (view)));

  /* A continuous recording has no sweeps to overlay. */
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (window),
                                              "win.overlay-sweeps", NULL) &&
                  imp_traces_view_get_overlay_sweeps (get_traces (window)));

  destroy_window (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_home = NULL;
  g_autofree char *recent = NULL;
  ImpSimParams params;
  double x[10], y[10];
  double xs[3] = { 0, 100, 200 };
  double ys[3] = { 0, 0, 0 };
  int status;

  tmp_dir = g_dir_make_tmp ("imprint-test-overview-XXXXXX", &error);
  g_assert_no_error (error);
  data_home = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  gtk_test_init (&argc, &argv, NULL);

  sim_path = g_build_filename (tmp_dir, "array.h5", NULL);
  imp_sim_params_init_default (&params);
  params.n_neurons = SIDE * SIDE;
  params.duration_s = 20;
  params.seed = 5;
  params.connection_prob = 0.15;
  params.electrode_pitch_um = PITCH_UM;
  if (!imp_simulate (&params, sim_path, NULL, NULL, NULL, NULL, &error))
    g_error ("Failed to simulate a recording: %s", error->message);

  for (guint c = 0; c < 10; c++)
    {
      x[c] = c < 6 ? 1000 + 50.0 * (c % 3) : NAN;
      y[c] = c < 6 ? 500 + 50.0 * (c / 3) : NAN;
    }
  mixed_path = write_recording ("mixed.h5", 10, x, y, 2000, 1);
  sweeps_path = write_recording ("sweeps.h5", 3, xs, ys, 40000, 4);

  app = imp_application_new ();
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/app/Session/channels-and-focus",
                   test_session_channels);
  g_test_add_func ("/app/ArrayLayout/grid", test_layout_grid);
  g_test_add_func ("/app/ArrayLayout/fallback", test_layout_fallback);
  g_test_add ("/app/ArrayView/choose", Fixture, NULL, fixture_set_up,
              test_array_choose, fixture_tear_down);
  g_test_add ("/app/ArrayView/measures", Fixture, NULL, fixture_set_up,
              test_array_measures, fixture_tear_down);
  g_test_add_func ("/app/Traces/rows", test_traces_rows);
  g_test_add_func ("/app/Traces/cursor", test_traces_cursor);
  g_test_add_func ("/app/Traces/step", test_traces_step);
  g_test_add_func ("/app/Traces/scale", test_traces_scale);
  g_test_add_func ("/app/Traces/overlay", test_traces_overlay);
  g_test_add_func ("/app/Link/pairs-and-map", test_link_pairs_and_map);
  g_test_add_func ("/app/Window/overview", test_window_overview);

  status = g_test_run ();

  g_clear_object (&app);
  /* with the projects the window saved beside them */
  for (guint i = 0; i < 3; i++)
    {
      const char *path = i == 0 ? sim_path : i == 1 ? mixed_path
                                                    : sweeps_path;
      g_autofree char *project = g_strconcat (path, ".imprint", NULL);

      g_unlink (path);
      g_unlink (project);
    }
  recent = g_build_filename (data_home, "recently-used.xbel", NULL);
  g_unlink (recent);
  g_rmdir (data_home);
  g_rmdir (tmp_dir);
  g_free (sim_path);
  g_free (mixed_path);
  g_free (sweeps_path);
  g_free (tmp_dir);

  return status;
}
