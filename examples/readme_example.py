import pandas as pd
from scipy.signal import decimate
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skeeg import EEGNetClassifier
from skeeg.datasets import load_uea

# Official train / test split, 256 Hz; fetched once from the UEA archive if not in the folder.
data = load_uea("SelfRegulationSCP1", "../shared/data", download=True)
to_128hz = FunctionTransformer(decimate, kw_args={"q": 2, "axis": -1})  # anti-aliased
pipe = make_pipeline(to_128hz, EEGNetClassifier(random_state=0))
search = GridSearchCV(pipe, {"eegnetclassifier__activation": ["elu", "relu"]}, cv=3, n_jobs=2,
                      verbose=3)  # a line per fit: 2 activations x 3 folds
print("Searching on the training split, then refitting the best on all of it...")
search.fit(data.X_train, data.y_train)  # every choice made on the training split

best = search.best_params_["eegnetclassifier__activation"]
print(f"Activation picked by 3-fold CV on the training split: {best} "
      f"(CV accuracy {search.best_score_:.1%})")
y_pred = search.predict(data.X_test)  # the test split, used once
print(f"Test accuracy: {(y_pred == data.y_test).mean():.1%} on {len(y_pred)} test trials")
names = search.classes_
matrix = confusion_matrix(data.y_test, y_pred, labels=names)
print("Confusion matrix (rows: true class, columns: predicted class):")
print(pd.DataFrame(matrix, [f"true {c}" for c in names], [f"predicted {c}" for c in names]))
