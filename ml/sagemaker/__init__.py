"""Amazon SageMaker: the container's entry points (``container``) and the launcher
(``launcher``, needing the ``sagemaker`` extra). Both run the project's own ML code."""
