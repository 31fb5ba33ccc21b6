"""scikit-learn's estimator checks for every estimator whose input is numeric.

LandmarkExtractor and ClarityBinner take images (paths or arrays), not a
numeric matrix, so the generic checks do not apply; their sklearn behaviour
(clone, pickle, joblib, pipelines, GridSearchCV) is tested in their own files.
"""

from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from fersk import ClarityRoutedClassifier, PairwiseDistance, SubjectNeutralizer


@parametrize_with_checks(
    [
        # n_dims=1 reads any number of columns as points on a line, so the
        # generic checks' 3-column data is a valid landmark matrix.
        PairwiseDistance(normalize=None, n_dims=1),
        # The level column is dropped before the classifier sees X; on the checks'
        # 2-feature blobs one feature remains, which a tree separates well enough.
        ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0)),
        ClarityRoutedClassifier(DecisionTreeClassifier(random_state=0), level_column=0),
        # The checks pass no subject ids: every sample is then "without an id"
        # and gets the training population's baseline.
        SubjectNeutralizer(missing_groups="population"),
        SubjectNeutralizer("median", method="standardize", missing_groups="population"),
    ],
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
