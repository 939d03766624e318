"""Every configured name lookup rejects an unknown name and lists the near matches (issue 19).

Before: a typo in a gin binding matched nothing and silently changed nothing.
"""
import pytest

from opencoder_jax.names import check_names
from opencoder_jax.refinecode.filter_config import FilterConfig


def test_message_names_the_typo_its_near_match_and_the_known_names():
    with pytest.raises(ValueError) as e:
        check_names("rule", ["qsc_code_num_wrods"], ["qsc_code_num_words", "qsc_code_size_file_byte"], where="python")
    assert str(e.value) == ("unknown rule 'qsc_code_num_wrods' for python; did you mean 'qsc_code_num_words'? "
                            "known: qsc_code_num_words, qsc_code_size_file_byte")
    check_names("rule", ["qsc_code_num_words"], ["qsc_code_num_words"])  # known: no error


def test_filter_override_with_a_misspelt_rule_is_an_error():
    with pytest.raises(ValueError, match=r"unknown rule 'qsc_code_num_wrods' for python; did you mean 'qsc_code_num_words'"):
        FilterConfig(overrides={"python": {"qsc_code_num_wrods": None}})
    with pytest.raises(ValueError, match=r"unknown table 'pyhton'.*did you mean 'python'"):
        FilterConfig(overrides={"pyhton": {"qsc_code_num_words": None}})
    with pytest.raises(ValueError, match=r"'qsc_codepython_frac_lines_pas' for \*; did you mean 'qsc_codepython_frac_lines_pass'"):
        FilterConfig(overrides={"*": {"qsc_codepython_frac_lines_pas": None}})
    # a text-tier signal is never computed for a code table: naming it there changes nothing
    with pytest.raises(ValueError, match=r"unknown rule 'qsc_doc_num_words' for python"):
        FilterConfig(overrides={"python": {"qsc_doc_num_words": [["<", 3]]}})


def test_filter_override_may_add_a_computed_signal_absent_from_the_table():
    assert "qsc_codepython_frac_lines_print" not in FilterConfig().tables()["java"]
    config = FilterConfig(overrides={"python": {"qsc_code_num_words": None},
                                     "others": {"qsc_code_frac_lines_assert": [[">", 0.5]]},
                                     "en": {"qsc_doc_num_words": None}})
    assert config.tables()["others"]["qsc_code_frac_lines_assert"].clauses == ((">", 0.5),)


def test_sampling_rates_name_real_languages():
    from opencoder_jax.refinecode.sampling import SampleConfig

    SampleConfig(rates={"Java": 0.5, "c++": "1/4"})  # case and aliases are canonicalised
    with pytest.raises(ValueError, match=r"unknown language 'jaava' for SampleConfig.rates; did you mean 'java'"):
        SampleConfig(rates={"jaava": 0.5})


def test_refinecode_stage_names():
    from beam_pipelines.refinecode import parse_stages

    with pytest.raises(ValueError, match=r"unknown stage 'fuzy_dedup'; did you mean 'fuzzy_dedup'"):
        parse_stages("preprocess,fuzy_dedup")


def test_mixture_sources_name_the_weighted_components():
    from opencoder_jax.data.mixture import MixtureConfig

    with pytest.raises(ValueError, match=r"unknown mixture component 'raw_cod' for MixtureConfig.sources; "
                                         r"did you mean 'raw_code'"):
        MixtureConfig(sources={"raw_cod": "/a", "code_web": "/b"})
    MixtureConfig(sources={"raw_code": "/a", "code_web": "/b"})


def test_train_data_flag_names_the_stage_mixture_components(tmp_path):
    from opencoder_jax.data.loader import LoaderConfig
    from opencoder_jax.train.inputs import parse_data_flag, pretrain_datasets

    with pytest.raises(ValueError, match=r"unknown mixture component 'code_wbe' for --data; did you mean 'code_web'"):
        pretrain_datasets(parse_data_flag(f"raw_code={tmp_path},code_wbe={tmp_path}"), LoaderConfig(),
                          eval_data=None, eval_holdout=0)


def test_sft_extract_languages_and_quickstart_benchmarks():
    from opencoder_jax.quickstart import QuickstartConfig
    from opencoder_jax.synth.sft_extract import SFTExtractConfig

    with pytest.raises(ValueError, match=r"unknown language 'pyhton'.*did you mean 'python'"):
        SFTExtractConfig(languages=("pyhton",))
    with pytest.raises(ValueError, match=r"unknown benchmark 'humaneval_pluss'.*did you mean 'humaneval_plus'"):
        QuickstartConfig(eval_benchmarks=("humaneval_pluss",))
    QuickstartConfig(eval_benchmarks=("humaneval", "mbpp_plus"))
