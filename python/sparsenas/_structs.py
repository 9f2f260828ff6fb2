"""ctypes mirrors of the public options and result structs (include/sparse/*.h).

Each struct is the version this package was written against; the library
fills in the defaults (the *_options_init functions) before any field is set,
so a field added by a later version keeps its default."""
import ctypes

c_uint, c_int, c_size_t, c_double = ctypes.c_uint, ctypes.c_int, ctypes.c_size_t, ctypes.c_double
c_uint64, c_int64, c_int32, c_float = ctypes.c_uint64, ctypes.c_int64, ctypes.c_int32, ctypes.c_float
c_void_p, c_char_p = ctypes.c_void_p, ctypes.c_char_p

# int (*)(void *, size_t epoch, size_t batch, size_t batches, double loss, double images_per_s)
TRAIN_PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t, c_size_t, c_double, c_double)


class TrainOptions(ctypes.Structure):
    VERSION = 2
    _fields_ = [("version", c_uint), ("epochs", c_size_t), ("batch_size", c_size_t), ("optimizer", c_int),
                ("lr", c_double), ("momentum", c_double), ("beta1", c_double), ("beta2", c_double),
                ("eps", c_double), ("weight_decay", c_double), ("schedule", c_int), ("step_epochs", c_size_t),
                ("step_gamma", c_double), ("label_smoothing", c_float), ("seed", c_uint64),
                ("progress", TRAIN_PROGRESS_FN), ("user", c_void_p), ("max_shift", c_size_t)]


class TrainResult(ctypes.Structure):
    VERSION = 1
    _fields_ = [("version", c_uint), ("epochs_done", c_size_t), ("steps", c_size_t), ("final_loss", c_double),
                ("train_images_per_s", c_double), ("seconds", c_double)]


class DataOptions(ctypes.Structure):
    VERSION = 1
    _fields_ = [("version", c_uint), ("val_count", c_size_t), ("test_fraction", c_double), ("seed", c_uint64),
                ("normalize", c_int), ("binary", c_int), ("max_train", c_size_t)]


class MemoryOptions(ctypes.Structure):
    VERSION = 2
    _fields_ = [("version", c_uint), ("scratch", c_int), ("dense", c_int)]


class QuantOptions(ctypes.Structure):
    VERSION = 1
    _fields_ = [("version", c_uint), ("calib_images", c_size_t)]


class ExportOptions(ctypes.Structure):
    VERSION = 1
    _fields_ = [("version", c_uint), ("prefix", c_char_p)]


class ExportFigures(ctypes.Structure):
    VERSION = 1
    _fields_ = [("version", c_uint), ("ms_bytes", c_uint64), ("wm5_bytes", c_uint64), ("wm6_bytes", c_uint64),
                ("flash_bytes", c_uint64), ("arena_bytes", c_uint64), ("arena_lower_bound_bytes", c_uint64),
                ("input_c", c_size_t), ("input_h", c_size_t), ("input_w", c_size_t), ("classes", c_size_t),
                ("input_scale", c_double), ("input_zero_point", c_int32)]


class TrialEvent(ctypes.Structure):
    VERSION = 1
    _fields_ = [("version", c_uint), ("trial", c_size_t), ("total", c_size_t), ("stage", c_int), ("ok", c_int),
                ("val_accuracy", c_double), ("ms_bytes", c_double), ("wm_bytes", c_double),
                ("best_feasible_accuracy", c_double), ("elapsed_s", c_double), ("remaining_s", c_double),
                ("record_json", c_char_p)]


TRIAL_FN = ctypes.CFUNCTYPE(c_int, c_void_p, ctypes.POINTER(TrialEvent))
# int (*)(void *, size_t trial, size_t epoch, size_t batch, size_t batches, double loss)
SEARCH_PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t, c_size_t, c_size_t, c_double)


class SearchOptions(ctypes.Structure):
    VERSION = 2
    _fields_ = [("version", c_uint), ("max_trials", c_size_t), ("time_budget_s", c_double), ("threads", c_int),
                ("data_override", c_char_p), ("on_trial", TRIAL_FN), ("on_progress", SEARCH_PROGRESS_FN),
                ("user", c_void_p), ("seed", c_int64)]
