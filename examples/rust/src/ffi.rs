//! Hand-written declarations of the part of libsparse's C API this example
//! uses (include/sparse/*.h): the calls of the C examples (examples/c:
//! search_front.c and classify.c) and those of training from memory.
//! Handles are opaque; the versioned options structs and the trial event are
//! declared field for field, in the order of the headers, and always filled
//! by the library's *_init functions before a field is set.
use std::os::raw::{c_char, c_int, c_uint, c_void};

#[repr(C)]
pub struct SparseArch {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseNet {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseDataset {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseMemreport {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseSearchConfig {
    _private: [u8; 0],
}
#[repr(C)]
pub struct SparseRun {
    _private: [u8; 0],
}

pub const SPARSE_OK: c_int = 0;

/// sparse_data_options (sparse/data.h), version 1.
#[repr(C)]
pub struct SparseDataOptions {
    pub version: c_uint,
    pub val_count: usize,
    pub test_fraction: f64,
    pub seed: u64,
    pub normalize: c_int,
    pub binary: c_int,
    pub max_train: usize,
}
pub const SPARSE_DATA_OPTIONS_VERSION: c_uint = 1;

/// sparse_trial_event (sparse/search.h), version 1: borrowed during the callback.
#[repr(C)]
pub struct SparseTrialEvent {
    pub version: c_uint,
    pub trial: usize,
    pub total: usize,
    pub stage: c_int,
    pub ok: c_int,
    pub val_accuracy: f64,
    pub ms_bytes: f64,
    pub wm_bytes: f64,
    pub best_feasible_accuracy: f64,
    pub elapsed_s: f64,
    pub remaining_s: f64,
    pub record_json: *const c_char,
}

pub type SparseTrialFn = Option<unsafe extern "C" fn(user: *mut c_void, event: *const SparseTrialEvent) -> c_int>;
pub type SparseSearchProgressFn =
    Option<unsafe extern "C" fn(user: *mut c_void, trial: usize, epoch: usize, batch: usize, batches: usize, loss: f64) -> c_int>;

/// sparse_search_options (sparse/search.h), version 2.
#[repr(C)]
pub struct SparseSearchOptions {
    pub version: c_uint,
    pub max_trials: usize,
    pub time_budget_s: f64,
    pub threads: c_int,
    pub data_override: *const c_char,
    pub on_trial: SparseTrialFn,
    pub on_progress: SparseSearchProgressFn,
    pub user: *mut c_void,
    pub seed: i64,
}
pub const SPARSE_SEARCH_OPTIONS_VERSION: c_uint = 2;

// sparse_trial_field values (sparse/search.h)
pub const SPARSE_TRIAL_VAL_ACCURACY: c_int = 3;
pub const SPARSE_TRIAL_MS_BYTES: c_int = 5;
pub const SPARSE_TRIAL_WM5_BYTES: c_int = 6;

extern "C" {
    pub fn sparse_version() -> *const c_char;
    pub fn sparse_strerror(code: c_int) -> *const c_char;
    pub fn sparse_last_error() -> *const c_char;

    pub fn sparse_arch_parse_yaml(out: *mut *mut SparseArch, text: *const c_char, len: usize,
                                  source: *const c_char) -> c_int;
    pub fn sparse_arch_load_yaml(out: *mut *mut SparseArch, path: *const c_char) -> c_int;
    pub fn sparse_arch_free(arch: *mut SparseArch);

    pub fn sparse_net_create(out: *mut *mut SparseNet, arch: *const SparseArch, max_batch: usize,
                             seed: u64) -> c_int;
    pub fn sparse_net_free(net: *mut SparseNet);
    pub fn sparse_net_train(net: *mut SparseNet, train: *const SparseDataset,
                            opts: *const c_void, result: *mut c_void) -> c_int;
    pub fn sparse_net_evaluate(net: *mut SparseNet, ds: *const SparseDataset, accuracy: *mut f64) -> c_int;
    pub fn sparse_net_predict(net: *mut SparseNet, image: *const f32, logits: *mut f32, label: *mut c_int) -> c_int;
    pub fn sparse_net_nonzero_count(net: *const SparseNet) -> usize;
    pub fn sparse_net_save(net: *const SparseNet, path: *const c_char) -> c_int;
    pub fn sparse_net_load(net: *mut SparseNet, path: *const c_char, allow_extra: c_int) -> c_int;

    pub fn sparse_dataset_from_memory(out: *mut *mut SparseDataset, n: usize, c: usize, h: usize,
                                      w: usize, images: *const f32, labels: *const i32,
                                      num_classes: usize) -> c_int;
    pub fn sparse_dataset_free(ds: *mut SparseDataset);
    pub fn sparse_dataset_image_count(ds: *const SparseDataset) -> usize;
    pub fn sparse_dataset_label(ds: *const SparseDataset, i: usize) -> c_int;
    pub fn sparse_dataset_image(ds: *const SparseDataset, i: usize) -> *const f32;
    pub fn sparse_data_options_init(opts: *mut SparseDataOptions, version: c_uint) -> c_int;
    pub fn sparse_data_open(train: *mut *mut SparseDataset, val: *mut *mut SparseDataset,
                            test: *mut *mut SparseDataset, spec: *const c_char,
                            opts: *const SparseDataOptions) -> c_int;

    pub fn sparse_memreport_from_net(out: *mut *mut SparseMemreport, net: *const SparseNet,
                                     opts: *const c_void) -> c_int;
    pub fn sparse_memreport_free(r: *mut SparseMemreport);
    pub fn sparse_memreport_ms_bytes(r: *const SparseMemreport, bytes: *mut u64) -> c_int;
    pub fn sparse_memreport_wm_bytes(r: *const SparseMemreport, model: c_int, bytes: *mut u64,
                                     layer: *mut usize) -> c_int;

    pub fn sparse_search_config_load(out: *mut *mut SparseSearchConfig, path: *const c_char) -> c_int;
    pub fn sparse_search_config_free(cfg: *mut SparseSearchConfig);
    pub fn sparse_search_options_init(opts: *mut SparseSearchOptions, version: c_uint) -> c_int;
    pub fn sparse_search_run(cfg: *const SparseSearchConfig, out_dir: *const c_char,
                             opts: *const SparseSearchOptions) -> c_int;
    pub fn sparse_run_open(out: *mut *mut SparseRun, dir: *const c_char) -> c_int;
    pub fn sparse_run_free(run: *mut SparseRun);
    pub fn sparse_run_trial_count(run: *const SparseRun) -> usize;
    pub fn sparse_run_pareto(run: *const SparseRun, ids: *mut usize, count: *mut usize) -> c_int;
    pub fn sparse_run_trial_value(run: *const SparseRun, id: usize, field: c_int, value: *mut f64) -> c_int;
}
